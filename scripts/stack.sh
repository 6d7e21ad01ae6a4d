#!/usr/bin/env bash
# The local Flywheel stack for an operator: the six services running in the background on fixed
# ports over the local platform, a model to predict with, and .flywheel/stack.env to source.
#
#   bash scripts/stack.sh up [options]   set up if needed, start the platform and the six services
#                                        (each awaited on /readyz), make a model available, write
#                                        .flywheel/stack.env; a second 'up' changes nothing
#   bash scripts/stack.sh down           stop the services 'up' started (SIGTERM, then SIGKILL), and
#                                        the platform only if 'up' started it
#   bash scripts/stack.sh status         pid, port and health of each service; exit 1 when one is down
#
# up options: bootstrap a model from your own data first (the CLI's bootstrap options):
#   --data FILE [--model NAME] [--format csv|jsonl] [--no-header] [--text-column C]
#   [--label-column C] [--label-depth N] [--epochs N]
# Without --data, 'up' bootstraps a model 'products' from a sample of the shipped Flipkart catalogue
# (../shared/data/flipkart-products) when serving has no model yet.
#
# Ports: serving 8080, feedback-ingest 8081, aggregator 8082, drift-monitor 8083, trainer 8084,
#   ab-router 8085; override one with FLYWHEEL_<SERVICE>_PORT (e.g. FLYWHEEL_SERVING_PORT=9080).
# ADMIN_TOKEN: from the environment, else from .flywheel/stack.env, else generated (and kept).
# The services use PostgreSQL schema 'flywheel' (FLYWHEEL_STACK_PG_SCHEMA overrides it, e.g. for a
# second checkout on the same database) and no topic prefix: fixed, like a deployment (not a per-run
# test stack), and apart from whatever tests leave in 'public'.
# Files: .flywheel/stack.env, .flywheel/stack/<service>.pid, .flywheel/logs/stack-<service>.log
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

STATE_DIR="$FLYWHEEL_DIR/stack"
LOCK_FILE="$STATE_DIR/stack.lock"
PLATFORM_MARK="$STATE_DIR/platform.started-by-stack"
STACK_MAIN="$ROOT/packages/local-stack/dist/stackMain.js"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# One up/down at a time. Fd 8 is closed for every child (8>&-), so a detached service or the
# platform never inherits the lock.
lock() {
  mkdir -p "$STATE_DIR"
  exec 8>"$LOCK_FILE"
  flock -w 300 8 || die "another 'stack.sh up/down' has held $(rel "$LOCK_FILE") for 5 minutes" \
    "wait for it to finish, or find it with: fuser $(rel "$LOCK_FILE")"
}

# Setup runs when something the stack runs is not built yet (a fresh clone); after changing code,
# run 'bash scripts/setup.sh' (or a build), then 'down' and 'up'.
setup_needed() {
  local f
  [[ -d "$ROOT/node_modules" ]] || return 0
  for f in "$STACK_MAIN" "$ROOT/packages/cli/dist/main.js" "$ROOT/packages/s3-local/dist/main.js" \
    "$ROOT"/services/{feedback-ingest,aggregator,drift-monitor,trainer,ab-router,serving}/dist/main.js; do
    [[ -f "$f" ]] || return 0
  done
  return 1
}

# Option names are checked before anything starts (their values are checked by stackMain).
check_up_options() {
  local a
  for a in "$@"; do
    case "$a" in
      --data | --model | --format | --no-header | --text-column | --label-column | --label-depth | --epochs | --*=*) ;;
      --*) die "unknown option for 'up': $a" "see: bash scripts/stack.sh --help" ;;
    esac
  done
}

cmd_up() {
  check_up_options "$@"
  lock
  if setup_needed; then
    info "setting up (first run: installs dependencies and builds; a few minutes)"
    bash "$ROOT/scripts/setup.sh" 8>&-
  fi
  if ! bash "$ROOT/scripts/platform.sh" status >/dev/null 2>&1; then
    [[ -f "$PLATFORM_MARK" ]] || touch "$PLATFORM_MARK" # 'down' stops a platform only when 'up' started it
  fi
  bash "$ROOT/scripts/platform.sh" up 8>&-
  echo
  node "$STACK_MAIN" up "$@" 8>&-
}

cmd_down() {
  lock
  if [[ -f "$STACK_MAIN" ]]; then node "$STACK_MAIN" down 8>&-
  else info "nothing to stop: the stack was never built ($(rel "$STACK_MAIN") is missing)"; fi
  if [[ -f "$PLATFORM_MARK" ]]; then
    bash "$ROOT/scripts/platform.sh" down 8>&-
    rm -f "$PLATFORM_MARK"
  else
    info "platform left running (stack.sh up did not start it)"
  fi
}

cmd_status() {
  [[ -f "$STACK_MAIN" ]] || die "the stack was never built ($(rel "$STACK_MAIN") is missing)" "run: bash scripts/stack.sh up"
  local rc=0
  node "$STACK_MAIN" status || rc=1
  if bash "$ROOT/scripts/platform.sh" status >/dev/null 2>&1; then info "platform: up (bash scripts/platform.sh status)"
  else info "platform: DOWN (bash scripts/platform.sh status)"; rc=1; fi
  [[ $rc -eq 0 ]] || info "something is down: run 'bash scripts/stack.sh up'"
  return "$rc"
}

for arg in "$@"; do
  case "$arg" in -h | --help) usage; exit 0 ;; esac
done
command="${1:-}"
[[ $# -gt 0 ]] && shift
case "$command" in
  up) cmd_up "$@" ;;
  down) [[ $# -eq 0 ]] || die "'down' takes no options (got: $*)" "run: bash scripts/stack.sh down"; cmd_down ;;
  status) [[ $# -eq 0 ]] || die "'status' takes no options (got: $*)" "run: bash scripts/stack.sh status"; cmd_status ;;
  help) usage ;;
  *) usage >&2; die "usage: bash scripts/stack.sh up|down|status [options]" "pick one of the commands above" ;;
esac
