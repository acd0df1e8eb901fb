#!/usr/bin/env bash
# Creates .venv with Python >= 3.11 and installs the pinned requirements, only when they changed.
# `bootstrap.sh infra`: .venv-infra with infra/requirements.txt (the CDK app and its linters), a set of its own.
# The system packages (python3-venv among them) come first, from `make system` (scripts/system_packages.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KIND=${1:-project}
if [ "$KIND" = infra ]; then VENV=${BFP_INFRA_VENV:-$ROOT/.venv-infra}; else VENV=${BFP_VENV:-$ROOT/.venv}; fi
STAMP=$VENV/.requirements.sha256

log() { printf 'bootstrap: %s\n' "$*" >&2; }

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# MWAA 3.3.1 runs Python 3.12: prefer it (on PATH, or a pyenv install), so the venv holds exactly MWAA's versions.
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.12; do
    if python_ok "$candidate"; then echo "$candidate"; return; fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12\.[0-9]+$' | sort -V -r); do
      candidate=$(PYENV_VERSION=$candidate pyenv which python 2>/dev/null) || continue
      if python_ok "$candidate"; then echo "$candidate"; return; fi
    done
  fi
  for candidate in python3.13 python3.11 python3; do
    if python_ok "$candidate"; then echo "$candidate"; return; fi
  done
  log "ERROR: Python 3.11 or newer not found (tried ${PYTHON:-} python3.12, pyenv 3.12, python3.13, python3.11, python3); set PYTHON=..."
  exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
  python=$(find_python)
  log "creating $VENV with $($python --version)"
  if ! "$python" -m venv "$VENV"; then
    rm -rf "$VENV"
    log "ERROR: $python cannot create a virtual environment: run 'make system' (it installs python3-venv), or set PYTHON=..."
    exit 1
  fi
fi

# uv installs the same pinned set as pip in a fraction of the time (measured on this machine from PyPI with no
# cache: 41 s against pip's 3 min 53 s for .venv); pip stays the fallback, e.g. where only pip is configured to
# reach a package index (uv is given pip's index-url when one is set). uv at MWAA's pin: the venv holds MWAA's set.
# .venv is compiled at install (--compile-bytecode, in parallel): left to the first importer, the processes that
# start together (airflow standalone's four, each test worker, each Airflow task) all compiled the same modules
# at once (measured on a new machine: pytest 14 min 38 s with it, 16 min 12 s without, though the install took 26 s
# less). uv skips it by default, and with PYTHONDONTWRITEBYTECODE set (as on the machines CI runs on; the Makefile
# unsets it for its recipes) nothing writes the .pyc files later. .venv-infra is left to its few processes (one
# pytest, cfn-lint, checkov): compiling all of it cost 58 s of CPU, most of it the CDK's services no stack uses.
UV_PIN=$(grep -E '^uv==' "$ROOT/dags/constraints/airflow_constraints.txt")
install() {
  local index
  index=$("$VENV/bin/pip" config get global.index-url 2>/dev/null || true)
  local compile=--compile-bytecode
  if [ "$KIND" = infra ]; then compile=; fi
  if "$VENV/bin/pip" install --quiet --disable-pip-version-check "$UV_PIN" \
    && "$VENV/bin/uv" pip install --quiet $compile --python "$VENV/bin/python" \
      ${index:+--index-url "$index"} "$@"; then
    return
  fi
  log "WARNING: uv could not install the requirements; pip installs them instead (a few minutes)"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$@"
}

if [ "$KIND" = infra ]; then
  wanted=$(sha256sum "$ROOT/infra/requirements.txt" | cut -d' ' -f1)
  if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
    log "installing infra/requirements.txt into $VENV (the CDK app, cfn-lint, checkov)"
    install -r "$ROOT/infra/requirements.txt"
    echo "$wanted" >"$STAMP"
  fi
  exit 0
fi

# Everything installs under MWAA 3.3.1's constraints (dags/constraints/), so the packages the DAG code touches are
# at the versions MWAA runs. Those constraints are Python 3.12's; on another Python the few pins that have no
# release for it (numpy 2.5, scipy 1.18 need 3.12) are left to pip, and the parity test names them.
CONSTRAINTS=$ROOT/dags/constraints
wanted=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT"/{dags,serving,spark}/requirements.txt \
  "$CONSTRAINTS"/*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$wanted" ]; then
  airflow_constraints=$CONSTRAINTS/airflow_constraints.txt
  if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))'; then
    airflow_constraints=$VENV/airflow_constraints.txt
    grep -v -E '^(numpy|scipy)==' "$CONSTRAINTS/airflow_constraints.txt" >"$airflow_constraints"
    log "WARNING: $("$VENV/bin/python" --version), not MWAA's 3.12: numpy and scipy will differ from MWAA's versions"
  fi
  log "installing requirements into $VENV under MWAA's constraints (the first run downloads them: a minute or more)"
  install -r "$ROOT/requirements-dev.txt" -c "$airflow_constraints" -c "$CONSTRAINTS/mwaa_essential_constraints.txt"
  echo "$wanted" >"$STAMP"
fi
