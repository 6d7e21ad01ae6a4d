#!/usr/bin/env bash
# The main job: on a fresh machine, one command sets everything up, starts the local platform and
# the six services, and drives the whole loop (see tools/demo/README.md). Stops everything it
# started: the services always, the platform only if this run brought it up.
#
#   bash scripts/main.sh [demo options]      e.g. --data my.csv --text-column text --label-column label
#   bash scripts/main.sh --bench             the same, with one JSON object as the last line (pnpm bench:loop)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'USAGE'
usage: bash scripts/main.sh [demo options]
  The main job: sets the machine up, starts the local platform and the six services, drives the
  whole loop and writes reports/loop-report.html. Stops what it started.
    bash scripts/main.sh --data my.csv --text-column text --label-column label
    bash scripts/main.sh --bench        the same, with one JSON object as the last line

USAGE
  # The demo's own option list (printing it starts nothing); it exists once setup has built it.
  if [[ -f "$ROOT/tools/demo/dist/main.js" ]]; then node "$ROOT/tools/demo/dist/main.js" --help
  else echo "demo options: run 'bash scripts/setup.sh' once to build the demo, then ask again"; fi
  exit 0
fi
cd "$ROOT"

bash scripts/setup.sh
started_platform=0
bash scripts/platform.sh status >/dev/null 2>&1 || started_platform=1
bash scripts/platform.sh up
cleanup() { [[ $started_platform -eq 1 ]] && bash scripts/platform.sh down >/dev/null 2>&1 || true; }
trap cleanup EXIT
export KAFKAJS_NO_PARTITIONER_WARNING=1
# The demo stops the services it started itself (also on Ctrl-C and on failure); with --bench its
# last line is one JSON object.
node tools/demo/dist/main.js "$@"
