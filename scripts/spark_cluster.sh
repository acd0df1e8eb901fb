#!/usr/bin/env bash
# A Spark standalone cluster on this machine (`make spark-cluster` / `make spark-cluster-stop`): one master and
# two workers, separate JVMs with one core each, started from the pinned pyspark's own `spark-class` (no other
# download). The local target's jobs go there with BFP_SPARK_MASTER=spark://127.0.0.1:<port> (printed).
#
#   scripts/spark_cluster.sh up|down|status
#
# Settings (environment): BFP_SPARK_CLUSTER_DIR (<repo>/.local/spark-cluster), BFP_SPARK_MASTER_PORT (7077),
# BFP_SPARK_WEBUI_PORT (18080; the workers take the next ones), BFP_SPARK_WORKER_MEMORY (1536m),
# BFP_SPARK_WORKERS (2). Everything binds to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${BFP_VENV:-$ROOT/.venv}
STATE=${BFP_SPARK_CLUSTER_DIR:-$ROOT/.local/spark-cluster}
PORT=${BFP_SPARK_MASTER_PORT:-7077}
WEBUI=${BFP_SPARK_WEBUI_PORT:-18080}
MEMORY=${BFP_SPARK_WORKER_MEMORY:-1536m}
WORKERS=${BFP_SPARK_WORKERS:-2}
SPARK_CLASS=$(dirname "$("$VENV/bin/python" -c 'import pyspark; print(pyspark.__file__)')")/bin/spark-class
export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR=$STATE/logs SPARK_WORKER_DIR=$STATE/work
export PYSPARK_PYTHON=$VENV/bin/python PATH=$VENV/bin:$PATH

log() { printf 'spark-cluster: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {  # name, pid file, class and arguments
  local name=$1 pid_file=$2; shift 2
  if running "$pid_file"; then log "$name already running (pid $(cat "$pid_file"))"; return; fi
  setsid "$SPARK_CLASS" "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

up() {
  mkdir -p "$STATE/logs" "$STATE/work"
  start master "$STATE/master.pid" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$PORT" --webui-port "$WEBUI"
  local deadline=$((SECONDS + 60))
  until listening "$PORT"; do
    running "$STATE/master.pid" || die "the master exited; see $STATE/logs/master.log"
    [ $SECONDS -lt $deadline ] || die "the master did not listen on $PORT within 60 s; see $STATE/logs/master.log"
    sleep 0.5
  done
  local n
  for n in $(seq 1 "$WORKERS"); do
    start "worker-$n" "$STATE/worker-$n.pid" org.apache.spark.deploy.worker.Worker "spark://127.0.0.1:$PORT" \
      --host 127.0.0.1 --cores 1 --memory "$MEMORY" --webui-port $((WEBUI + n)) --work-dir "$STATE/work/$n"
  done
  deadline=$((SECONDS + 90))  # the master's JSON view lists the workers once they registered
  until [ "$(alive_workers)" -ge "$WORKERS" ]; do
    [ $SECONDS -lt $deadline ] || die "$(alive_workers) of $WORKERS workers registered within 90 s; see $STATE/logs/"
    sleep 1
  done
  log "master spark://127.0.0.1:$PORT with $WORKERS workers of 1 core (UI http://127.0.0.1:$WEBUI)"
  echo "BFP_SPARK_MASTER=spark://127.0.0.1:$PORT"
}

alive_workers() {
  "$VENV/bin/python" - "$WEBUI" <<'PY' 2>/dev/null || echo 0
import json, sys, urllib.request
state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2))
print(sum(worker["state"] == "ALIVE" for worker in state["workers"]))
PY
}

down() {
  local pid_file
  for pid_file in "$STATE"/worker-*.pid "$STATE/master.pid"; do
    [ -f "$pid_file" ] || continue
    if running "$pid_file"; then
      kill -TERM -- "-$(cat "$pid_file")" 2>/dev/null || kill -TERM "$(cat "$pid_file")"
      local deadline=$((SECONDS + 30))
      while running "$pid_file"; do
        [ $SECONDS -lt $deadline ] || { kill -KILL -- "-$(cat "$pid_file")" 2>/dev/null || true; break; }
        sleep 0.2
      done
    fi
    rm -f "$pid_file"
  done
  log "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if running "$STATE/master.pid"; then log "master spark://127.0.0.1:$PORT, $(alive_workers) workers alive"; else log "stopped"; exit 3; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
