#!/usr/bin/env bash
# Runs the storefront under gunicorn on $BFP_BIND (default 127.0.0.1:8000) against the local services.
# Creates a session secret and an admin token under .local/ on first use (never a built-in default), and
# loads the demo catalog when the database has no products yet.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${VENV:-.venv}/bin/python
mkdir -p .local

secret_file() {  # prints the file's content, creating it with a random value first
  [ -s "$1" ] || { (umask 077; "$PY" -c 'import secrets; print(secrets.token_hex(32))' >"$1"); }
  cat "$1"
}
export BFP_SECRET_KEY=${BFP_SECRET_KEY:-$(secret_file .local/secret_key)}
export BFP_ADMIN_TOKEN=${BFP_ADMIN_TOKEN:-$(secret_file .local/admin_token)}
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$ROOT/.local/metrics}

# the storefront's own settings (DATABASE_URL, or the local target's default), not a second reading of them
products=$("$PY" -c 'import psycopg; from serving.config import ServingConfig
print(psycopg.connect(ServingConfig.from_env().database_url).execute("SELECT count(*) FROM products").fetchone()[0])')
if [ "$products" = "0" ]; then
  echo "serve: no products yet; loading the demo catalog" >&2
  [ -f data/demo/amazon-purchases.csv ] || "$PY" -m datagen generate --scale demo --out data/demo/amazon-purchases.csv
  "$PY" -m datagen load --purchases data/demo/amazon-purchases.csv
fi
echo "serve: storefront on http://${BFP_BIND:-127.0.0.1:8000}/  API spec /api/v1/openapi.json  admin token in .local/admin_token" >&2
exec "${VENV:-.venv}/bin/gunicorn" -c serving/gunicorn.conf.py
