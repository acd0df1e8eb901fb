#!/usr/bin/env bash
# Local services for the `local` target: a throwaway PostgreSQL cluster and a redis-server, both kept in a
# project-local folder on non-default ports, so nothing on the machine is touched.
#
#   scripts/services.sh up|down|status|env|destroy   (destroy = down, then delete the data)
#   scripts/services.sh restart-postgres|stop-postgres|start-postgres   (drills and tests: database faults)
#   scripts/services.sh restart-redis|stop-redis|start-redis|freeze-redis|thaw-redis [ROLE]
#                                      (drills; ROLE of Redis: state, cache or all, the default)
#
# Settings (environment): BFP_STATE_DIR (default <repo>/.local/services), BFP_PG_PORT (55432),
# BFP_REDIS_PORT (56379, the state role), BFP_REDIS_CACHE_PORT (the next port, the cache role),
# BFP_REDIS_STATE_MAXMEMORY (256mb), BFP_REDIS_CACHE_MAXMEMORY (128mb), BFP_DB_NAME (bfp), BFP_DB_USER (bfp).
# `up` is idempotent: running services are left alone, stale pid files are cleared.
# Works as root (PostgreSQL refuses root, so the cluster runs as the `postgres` user) and as a normal user.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE_DIR=${BFP_STATE_DIR:-$ROOT/.local/services}
PG_PORT=${BFP_PG_PORT:-55432}
REDIS_PORT=${BFP_REDIS_PORT:-56379}
REDIS_CACHE_PORT=${BFP_REDIS_CACHE_PORT:-$((REDIS_PORT + 1))}
REDIS_STATE_MAXMEMORY=${BFP_REDIS_STATE_MAXMEMORY:-256mb}
REDIS_CACHE_MAXMEMORY=${BFP_REDIS_CACHE_MAXMEMORY:-128mb}
DB_NAME=${BFP_DB_NAME:-bfp}
DB_USER=${BFP_DB_USER:-bfp}
REDIS_DIR=$STATE_DIR/redis

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  return 1
}

install_packages() {
  # Declared in scripts/system-packages.txt and installed by `make system`, before anything runs; run on its own,
  # this installs what is missing (under the installer's lock), or, in a test process, fails naming `make system`.
  "$ROOT/scripts/system_packages.sh" ensure postgresql postgresql-contrib redis-server redis-tools
}

# As root every PostgreSQL command runs as the postgres user, which must be able to reach the data folder.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_base() {
  # The cluster lives in the state folder unless, as root, the postgres user cannot reach it (e.g. the
  # checkout sits under /root); then it lives in a per-checkout folder under /var/tmp.
  if is_root && ! runuser -u postgres -- test -x "$STATE_DIR" 2>/dev/null; then
    echo "/var/tmp/bfp-pg-$(printf '%s' "$STATE_DIR" | md5sum | cut -c1-12)"
  else
    echo "$STATE_DIR/pg"
  fi
}

pg_running() {
  local data=$1 pid
  [ -f "$data/postmaster.pid" ] || return 1
  pid=$(head -1 "$data/postmaster.pid")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && grep -qE '^(postgres|postmaster)' "/proc/$pid/comm"
}

# A port another process listens on (another service set, a system service): starting there would either fail
# or, for Redis, let this set's readiness check be answered by the other server, so it is refused up front.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

refuse_taken_port() {
  local port=$1 setting=$2 what=$3
  port_taken "$port" || return 0
  die "port $port ($setting) is already taken by another process, not this set's $what ($STATE_DIR): set $setting to a free port (each service set needs its own ports)"
}

pg_up() {
  local bin base data
  bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
  base=$(pg_base); data=$base/data
  mkdir -p "$base"
  is_root && chown postgres: "$base"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb $data"
    local locale=(--locale=C.UTF-8)
    locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$' || locale=(--no-locale)
    as_pg "$bin/initdb" -D "$data" -U "$DB_USER" --auth=trust -E UTF8 "${locale[@]}" >"$base/initdb.log" \
      || die "initdb failed, see $base/initdb.log"
    cat >>"$data/postgresql.conf" <<CONF
# written by scripts/services.sh: local, throwaway, loopback only
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300
shared_buffers = 512MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
CONF
  fi
  # The port can change between runs (tests use their own), so it is passed at start, not kept in the file.
  if pg_running "$data"; then
    log "postgres already running ($data)"
  else
    if [ -f "$data/postmaster.pid" ]; then
      log "removing stale $data/postmaster.pid"
      rm -f "$data/postmaster.pid"
    fi
    refuse_taken_port "$PG_PORT" BFP_PG_PORT postgres
    as_pg "$bin/pg_ctl" -D "$data" -l "$base/postgres.log" -o "-p $PG_PORT" -w -t 60 start >/dev/null \
      || die "postgres did not start, see $base/postgres.log"
  fi
  local port
  port=$(sed -n 4p "$data/postmaster.pid")
  [ "$port" = "$PG_PORT" ] || die "postgres in $data runs on port $port, not $PG_PORT: run 'down' first"
  if [ -z "$("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
    "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" "$DB_NAME"
  fi
}

# Two Redis roles, two servers (one server has one eviction policy):
#   state (REDIS_URL): carts and rate-limit counters; never evicts (noeviction: at its bound a write fails,
#     which a cart answers with 503, instead of a cart silently disappearing); append-only file, fsync 1 s.
#   cache (BFP_CACHE_REDIS_URL): products, listings, searches; evicts the least recently used (allkeys-lru)
#     at its bound, so a flood of unique keys pushes out cache entries only; no persistence.
redis_port() { if [ "$1" = cache ]; then echo "$REDIS_CACHE_PORT"; else echo "$REDIS_PORT"; fi; }
redis_port_setting() { if [ "$1" = cache ]; then echo BFP_REDIS_CACHE_PORT; else echo BFP_REDIS_PORT; fi; }
redis_dir() { if [ "$1" = cache ]; then echo "$STATE_DIR/redis-cache"; else echo "$REDIS_DIR"; fi; }
redis_pid_file() { echo "$(redis_dir "$1")/redis.pid"; }

redis_running() {
  local pid pid_file
  pid_file=$(redis_pid_file "${1:-state}")
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && grep -q '^redis-server' "/proc/$pid/comm"
}

redis_up_role() {
  local role=$1 port dir pid_file
  port=$(redis_port "$role"); dir=$(redis_dir "$role"); pid_file=$(redis_pid_file "$role")
  mkdir -p "$dir"
  if redis_running "$role"; then
    log "redis ($role) already running (pid $(cat "$pid_file"))"
  else
    [ -f "$pid_file" ] && { log "removing stale $pid_file"; rm -f "$pid_file"; }
    refuse_taken_port "$port" "$(redis_port_setting "$role")" "redis ($role)"
    local role_options
    if [ "$role" = cache ]; then
      role_options=(--maxmemory "$REDIS_CACHE_MAXMEMORY" --maxmemory-policy allkeys-lru --appendonly no)
    else
      role_options=(--maxmemory "$REDIS_STATE_MAXMEMORY" --maxmemory-policy noeviction
                    --appendonly yes --appendfsync everysec)
    fi
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
      --pidfile "$pid_file" --logfile "$dir/redis.log" --save "" "${role_options[@]}" >/dev/null
  fi
  local deadline=$((SECONDS + 30))
  until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
    [ $SECONDS -lt $deadline ] || die "redis ($role) did not answer on port $port, see $dir/redis.log"
    sleep 0.1
  done
}

redis_up() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server not found"
  redis_up_role state
  redis_up_role cache
}

print_env() {
  cat <<ENV
DATABASE_URL=postgresql://$DB_USER@127.0.0.1:$PG_PORT/$DB_NAME
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
BFP_CACHE_REDIS_URL=redis://127.0.0.1:$REDIS_CACHE_PORT/0
ENV
}

cmd_up() {
  install_packages
  mkdir -p "$STATE_DIR"
  pg_up
  redis_up
  print_env | tee "$STATE_DIR/env"
}

cmd_down() {
  local bin data
  data=$(pg_base)/data
  if bin=$(pg_bindir) && pg_running "$data"; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null && log "postgres stopped"
  fi
  local role
  for role in state cache; do
    if redis_running "$role"; then
      kill "$(cat "$(redis_pid_file "$role")")"
      local deadline=$((SECONDS + 30))
      while redis_running "$role"; do
        [ $SECONDS -lt $deadline ] || die "redis ($role) did not stop"
        sleep 0.1
      done
      log "redis ($role) stopped"
    fi
    rm -f "$(redis_pid_file "$role")"
  done
}

cmd_status() {
  local rc=0 data
  data=$(pg_base)/data
  if pg_running "$data"; then echo "postgres: running on 127.0.0.1:$(sed -n 4p "$data/postmaster.pid") (data: $data)"
  else echo "postgres: stopped (data: $data)"; rc=3; fi
  local role
  for role in state cache; do
    if redis_running "$role"; then echo "redis ($role): running on 127.0.0.1:$(redis_port "$role")"
    else echo "redis ($role): stopped"; rc=3; fi
  done
  [ $rc -eq 0 ] && print_env
  return $rc
}

# Fault drills and tests: restart one service in place (same port, same data; carts survive in Redis's
# append-only file), or freeze / thaw Redis (SIGSTOP / SIGCONT: it holds connections and answers nothing).
cmd_restart_postgres() {
  local bin data
  bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
  data=$(pg_base)/data
  pg_running "$data" || die "postgres is not running ($data)"
  as_pg "$bin/pg_ctl" -D "$data" -l "$(pg_base)/postgres.log" -o "-p $PG_PORT" -m fast -w -t 60 restart >/dev/null \
    || die "postgres did not restart, see $(pg_base)/postgres.log"
  log "postgres restarted"
}

cmd_stop_postgres() {
  local bin data
  bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
  data=$(pg_base)/data
  pg_running "$data" || die "postgres is not running ($data)"
  as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || die "postgres did not stop, see $(pg_base)/postgres.log"
  log "postgres stopped"
}

# The Redis commands act on both roles unless a role is named (state or cache): the shop's Redis as a whole.
redis_roles() { case "${1:-all}" in all) echo state cache ;; state|cache) echo "$1" ;; *) die "no Redis role $1 (state, cache or all)" ;; esac; }

cmd_restart_redis() {
  cmd_stop_redis "${1:-all}"  # a clean shutdown writes the state role's append-only file
  local role
  for role in $(redis_roles "${1:-all}"); do redis_up_role "$role"; done
  log "redis restarted"
}

cmd_stop_redis() {
  local role port
  for role in $(redis_roles "${1:-all}"); do
    redis_running "$role" || die "redis ($role) is not running"
    port=$(redis_port "$role")
    redis-cli -p "$port" shutdown >/dev/null 2>&1 || true
    local deadline=$((SECONDS + 30))
    while redis_running "$role"; do
      [ $SECONDS -lt $deadline ] || die "redis ($role) did not stop"
      sleep 0.05
    done
    rm -f "$(redis_pid_file "$role")"
  done
  log "redis stopped"
}

cmd_start_redis() {
  local role
  for role in $(redis_roles "${1:-all}"); do redis_up_role "$role"; done
}

cmd_signal_redis() {
  local role
  for role in $(redis_roles "${2:-all}"); do
    redis_running "$role" || die "redis ($role) is not running"
    kill "-$1" "$(cat "$(redis_pid_file "$role")")"
  done
}

cmd_destroy() {
  cmd_down
  rm -rf "$(pg_base)" "$STATE_DIR"
  log "removed $STATE_DIR"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) print_env ;;
  destroy) cmd_destroy ;;
  restart-postgres) cmd_restart_postgres ;;
  stop-postgres) cmd_stop_postgres ;;
  start-postgres) pg_up ;;
  restart-redis) cmd_restart_redis "${2:-all}" ;;
  stop-redis) cmd_stop_redis "${2:-all}" ;;
  start-redis) cmd_start_redis "${2:-all}" ;;
  freeze-redis) cmd_signal_redis STOP "${2:-all}" ;;
  thaw-redis) cmd_signal_redis CONT "${2:-all}" ;;
  *) echo "usage: $0 up|down|status|env|destroy|restart-postgres|stop-postgres|start-postgres|restart-redis|stop-redis|start-redis|freeze-redis|thaw-redis" >&2; exit 2 ;;
esac
