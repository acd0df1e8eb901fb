#!/usr/bin/env bash
# The Debian packages the project uses (declared once, in scripts/system-packages.txt).
#
#   scripts/system_packages.sh install [PACKAGE...]  install the missing ones (default: all declared), once: one
#                                                    apt-get run under a lock; a second caller waits and says so
#   scripts/system_packages.sh ensure PACKAGE...     what a service script runs before it starts one: installs
#                                                    like `install`, or, with BFP_INSTALL_PACKAGES=no (tests),
#                                                    fails naming the missing packages and `make system`
#   scripts/system_packages.sh check [PACKAGE...]    exit 1 naming the missing ones
#   scripts/system_packages.sh list                  the declared packages
#
# Settings: BFP_SYSTEM_PACKAGES (the list's path), BFP_INSTALL_PACKAGES (yes; no = never install),
# BFP_PACKAGES_LOCK (the lock file, ${TMPDIR:-/tmp}/bfp-system-packages.lock).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIST=${BFP_SYSTEM_PACKAGES:-$ROOT/scripts/system-packages.txt}
LOCK=${BFP_PACKAGES_LOCK:-${TMPDIR:-/tmp}/bfp-system-packages.lock}

log() { printf 'system packages: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

declared() { grep -vE '^[[:space:]]*(#|$)' "$LIST" | awk '{print $1}'; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing_of() {
  local package
  for package in "$@"; do installed "$package" || echo "$package"; done
}

# The packages asked for (all declared ones when none is named); an undeclared name is an error, so every
# package the project installs is in the one list.
wanted() {
  local all package
  all=$(declared)
  if [ $# -eq 0 ]; then echo "$all"; return; fi
  for package in "$@"; do
    grep -qxF "$package" <<<"$all" || die "$package is not declared in $LIST: add it there (with what uses it)"
    echo "$package"
  done
}

apt_get() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "installing needs root: run 'make system' as root, or install: $*"
    sudo=(sudo)
  fi
  # DPkg::Lock::Timeout: wait for another apt (unattended upgrades) instead of failing on its lock
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

cmd_install() {
  command -v dpkg-query >/dev/null 2>&1 || die "not a Debian/Ubuntu machine: install the packages of $LIST yourself"
  local list
  list=$(wanted "$@") || exit 1
  local -a packages todo
  mapfile -t packages <<<"$list"
  mapfile -t todo < <(missing_of "${packages[@]}")
  [ ${#todo[@]} -eq 0 ] && return 0
  exec 9>>"$LOCK"
  if ! flock -n 9; then
    log "waiting for another install of system packages to finish (lock $LOCK) before installing ${todo[*]}"
    flock 9
    mapfile -t todo < <(missing_of "${packages[@]}")  # the other installer may have installed them
    [ ${#todo[@]} -eq 0 ] && { log "installed meanwhile by the other installer"; return 0; }
  fi
  log "installing ${todo[*]} with apt-get (once; later runs find them)"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${todo[@]}" >/dev/null
  mapfile -t todo < <(missing_of "${todo[@]}")
  [ ${#todo[@]} -eq 0 ] || die "apt-get did not install ${todo[*]}"
}

cmd_check() {
  local list
  list=$(wanted "$@") || exit 1
  local -a packages todo
  mapfile -t packages <<<"$list"
  mapfile -t todo < <(missing_of "${packages[@]}")
  [ ${#todo[@]} -eq 0 ] && return 0
  log "missing ${todo[*]}: run 'make system' (scripts/system_packages.sh install) first"
  return 1
}

cmd_ensure() {
  [ $# -gt 0 ] || die "ensure needs the packages to look for"
  if [ "${BFP_INSTALL_PACKAGES:-yes}" = no ]; then cmd_check "$@"; else cmd_install "$@"; fi
}

command=${1:-}
shift || true
case "$command" in
  install) cmd_install "$@" ;;
  ensure) cmd_ensure "$@" ;;
  check) cmd_check "$@" ;;
  list) declared ;;
  *) echo "usage: $0 install|ensure|check [PACKAGE...] | list" >&2; exit 2 ;;
esac
