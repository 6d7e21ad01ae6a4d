# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; it sets ROOT (the repo root) and FLYWHEEL_DIR.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FLYWHEEL_DIR="$ROOT/.flywheel"
LOG_DIR="$FLYWHEEL_DIR/logs"
PID_DIR="$FLYWHEEL_DIR/pids"

if [[ -t 1 ]]; then _B=$'\e[1m' _R=$'\e[31m' _Y=$'\e[33m' _G=$'\e[32m' _N=$'\e[0m'; else _B='' _R='' _Y='' _G='' _N=''; fi

# rel PATH: PATH relative to the repo root, for messages.
rel() { printf '%s' "${1#"$ROOT"/}"; }

info() { printf '%s\n' "$*"; }
warn() { printf '%swarning:%s %s\n' "$_Y" "$_N" "$*" >&2; }
# die MESSAGE [HINT]: print what failed and what to do, then exit 1.
die() {
  printf '%serror:%s %s\n' "$_R" "$_N" "$1" >&2
  [[ -n "${2:-}" ]] && printf '  what to do: %s\n' "$2" >&2
  exit 1
}

# run_logged LOGFILE DESCRIPTION CMD...: run quietly, append output to LOGFILE; on failure show its tail.
run_logged() {
  local log="$1" what="$2"; shift 2
  mkdir -p "$(dirname "$log")"
  printf '== %s: %s\n' "$(date -Is)" "$*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    printf '%serror:%s %s failed; last lines of %s:\n' "$_R" "$_N" "$what" "$(rel "$log")" >&2
    tail -n 25 "$log" | sed 's/^/  | /' >&2
    return 1
  fi
}

_APT_UPDATED=0
# ensure_apt BINARY PACKAGE: apt-get install PACKAGE when BINARY is not on PATH (apt-get update once per run).
ensure_apt() {
  local bin="$1" pkg="$2" log="$LOG_DIR/apt.log"
  command -v "$bin" >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "'$bin' is missing and apt-get is not available" "install the '$pkg' package by hand"
  [[ $(id -u) -eq 0 ]] || die "'$bin' is missing and installing '$pkg' needs root" "run: sudo apt-get install -y $pkg"
  info "installing $pkg (for $bin) with apt-get; log: $(rel "$log")"
  if [[ $_APT_UPDATED -eq 0 ]]; then
    run_logged "$log" "apt-get update" apt-get update || die "apt-get update failed" "check network access to the Debian mirrors, then re-run"
    _APT_UPDATED=1
  fi
  run_logged "$log" "apt-get install $pkg" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" \
    || die "apt-get install $pkg failed" "see $(rel "$log"), fix the cause and re-run"
  command -v "$bin" >/dev/null 2>&1 || die "installed $pkg but '$bin' is still not on PATH" "check 'dpkg -L $pkg'"
}

# pid_alive PIDFILE PATTERN: true when PIDFILE names a live process whose command line contains PATTERN
# (guards against stale PID files and PID reuse).
pid_alive() {
  local file="$1" pattern="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# stop_pid PIDFILE PATTERN NAME: TERM (then KILL after 5 s) the recorded process if it is ours; remove the file.
stop_pid() {
  local file="$1" pattern="$2" name="$3" pid i
  if pid_alive "$file" "$pattern"; then
    pid="$(<"$file")"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    info "stopped $name (pid $pid)"
  elif [[ -e "$file" ]]; then
    info "$name was not running (removed stale pid file)"
  fi
  rm -f "$file"
}
