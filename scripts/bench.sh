#!/usr/bin/env bash
# Runs one bench script with the platform up: bash scripts/bench.sh <node-args...>
# Stops the platform afterwards only if it started it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'USAGE'
usage: bash scripts/bench.sh BENCH.ts [args...]
  Sets the machine up, brings the local platform up (and down again if it started it) and runs
  one bench script with tsx, e.g. bash scripts/bench.sh services/serving/bench/serve.ts
  The benches have pnpm aliases: pnpm bench:bus, bench:dedupe, bench:ingest, bench:serve, bench:swap, bench:trainer, bench:attack, bench:chaos.
USAGE
  exit 0
fi
cd "$ROOT"
bash scripts/setup.sh >&2
started=0
bash scripts/platform.sh status >/dev/null 2>&1 || started=1
bash scripts/platform.sh up >&2
[[ $started -eq 1 ]] && trap 'bash scripts/platform.sh down >/dev/null 2>&1 || true' EXIT
set -a; source .flywheel/platform.env; set +a
export KAFKAJS_NO_PARTITIONER_WARNING=1
node --import tsx "$@"
