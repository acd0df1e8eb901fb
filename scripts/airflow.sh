#!/usr/bin/env bash
# Airflow for real on this machine (`make airflow` / `make airflow-stop`): `airflow standalone` (scheduler,
# dag-processor, triggerer, API server and UI) on http://127.0.0.1:8080 with the demo's settings.
#
#   scripts/airflow.sh up|down|status
#   scripts/airflow.sh cli ARGS...     the `airflow` CLI with the same environment (runbook commands locally)
#
# What it sets, so a reader does not have to: the Airflow home (.local/airflow), the metadata database (PostgreSQL:
# `bfp_airflow` on the local services' server unless AIRFLOW__DATABASE__SQL_ALCHEMY_CONN says otherwise), the dags
# folder, the pipeline's environment (database, lake, catalog, extract lag), the execution API URL matching
# the port, DAGs unpaused when first seen, parallelism for 2 cores, and a known local login (admin / admin,
# the simple auth manager: local only). The metadata database and the lake writers' pool are prepared first.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${BFP_VENV:-$ROOT/.venv}
PORT=${BFP_AIRFLOW_PORT:-8080}
STATE=${BFP_AIRFLOW_STATE:-$ROOT/.local/airflow}  # tests run their own Airflow in a folder of theirs
PID_FILE=$STATE/standalone.pid
LOG=$STATE/standalone.log

export AIRFLOW_HOME=${AIRFLOW_HOME:-$STATE}
export AIRFLOW__CORE__DAGS_FOLDER=${AIRFLOW__CORE__DAGS_FOLDER:-$ROOT/dags}
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=${BFP_DAGS_PAUSED:-False}
export AIRFLOW__CORE__PARALLELISM=${BFP_AIRFLOW_PARALLELISM:-4}
export AIRFLOW__API__PORT=$PORT
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__WORKERS=1
export AIRFLOW__API__BASE_URL=http://127.0.0.1:$PORT
# Tasks call the execution API of this server: without this they would call :8080 whatever the port.
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$PORT/execution/
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$STATE/passwords.json
export AIRFLOW__LOGGING__LOGGING_LEVEL=${AIRFLOW__LOGGING__LOGGING_LEVEL:-INFO}
# The pipeline (dags/pipeline/settings.py) and the dashboard (analytics/, imported by bf_report).
export PYTHONPATH=$ROOT:$ROOT/dags${PYTHONPATH:+:$PYTHONPATH}
export BFP_EXTRACT_LAG_SECONDS=${BFP_EXTRACT_LAG_SECONDS:-120}
export PATH=$VENV/bin:$PATH
# One metadata database for every process standalone starts and for `cli` (see dags/pipeline/airflow_setup.py)
AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$(python -m pipeline.airflow_setup --metadata-url)
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN

log() { printf 'airflow: %s\n' "$*" >&2; }

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

up() {
  mkdir -p "$STATE"
  if running; then
    log "already running (pid $(cat "$PID_FILE")) on http://127.0.0.1:$PORT"
    return
  fi
  printf '{"admin": "admin"}\n' >"$STATE/passwords.json"
  python -m pipeline.airflow_setup
  log "starting airflow standalone on http://127.0.0.1:$PORT (log: $LOG)"
  setsid airflow standalone >"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + 180))
  until python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/api/v2/monitor/health', timeout=2)" \
      >/dev/null 2>&1; do
    running || { tail -40 "$LOG" >&2; log "ERROR: airflow standalone exited; see $LOG"; exit 1; }
    [ $SECONDS -lt $deadline ] || { log "ERROR: no answer on :$PORT after 180 s; see $LOG"; exit 1; }
    sleep 1
  done
  if [ "$AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION" = "False" ]; then
    # DAGs seen before (by `airflow dags test` in the demo) keep their paused flag: unpause them once parsed
    local dag
    for dag in orders_pipeline lake_rebuild bf_report lake_housekeeping; do
      deadline=$((SECONDS + 120))
      until airflow dags unpause "$dag" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || { log "ERROR: $dag was not parsed within 120 s; see $LOG"; exit 1; }
        sleep 2
      done
    done
    log "DAGs unpaused: orders_pipeline (hourly), lake_rebuild, bf_report, lake_housekeeping (set BFP_DAGS_PAUSED=True to keep them paused)"
  fi
  log "UI http://127.0.0.1:$PORT  login admin / admin  (stop: make airflow-stop)"
}

down() {
  if running; then
    local pid
    pid=$(cat "$PID_FILE")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    local deadline=$((SECONDS + 60))
    while kill -0 -- "-$pid" 2>/dev/null; do
      [ $SECONDS -lt $deadline ] || { kill -KILL -- "-$pid" 2>/dev/null || true; break; }
      sleep 0.5
    done
    log "stopped"
  else
    log "not running"
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if running; then log "running (pid $(cat "$PID_FILE")) on http://127.0.0.1:$PORT"; else log "stopped"; exit 3; fi ;;
  cli) shift; exec airflow "$@" ;;
  *) echo "usage: $0 up|down|status|cli ARGS..." >&2; exit 2 ;;
esac
