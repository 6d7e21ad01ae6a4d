#!/usr/bin/env bash
# Runs every test on real stores: sets the machine up, starts the local platform, then typecheck,
# lint and every package's tests (unit + integration + end-to-end). Stops what it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$ROOT"

bash scripts/setup.sh
started_platform=0
bash scripts/platform.sh status >/dev/null 2>&1 || started_platform=1
bash scripts/platform.sh up
[[ $started_platform -eq 1 ]] && trap 'bash scripts/platform.sh down >/dev/null 2>&1 || true' EXIT
set -a; source .flywheel/platform.env; set +a
export KAFKAJS_NO_PARTITIONER_WARNING=1 TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

log="$LOG_DIR/test.log"
: >"$log"
status=0
info "test: typecheck and lint"
pnpm turbo run typecheck lint --continue --output-logs=errors-only --concurrency=2 2>&1 | tee -a "$log" | grep -E 'error|Tasks:|Failed:' || true
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
info "test: unit, integration and end-to-end tests (log: $(rel "$log"))"
pnpm turbo run test --continue --output-logs=full --concurrency=2 2>&1 | tee -a "$log" | grep -E '✓|×|FAIL|Test Files|Tests  |Tasks:|Failed:' || true
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1

# One closing line over every package: "N passed, N failed".
# vitest colours its summary when turbo gives it a terminal; strip the escapes before counting.
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
# `|| true`: grep finding nothing (no failures) must not end the script under pipefail.
passed=$( { grep -oE 'Tests +[0-9]+ passed|Tests +[0-9]+ failed \| [0-9]+ passed' <<<"$plain" || true; } | { grep -oE '[0-9]+ passed' || true; } | awk '{s+=$1} END {print s+0}')
failed=$( { grep -oE 'Tests +[0-9]+ failed' <<<"$plain" || true; } | { grep -oE '[0-9]+' || true; } | awk '{s+=$1} END {print s+0}')
[[ $passed -gt 0 ]] || { echo "test: no test results found in $(rel "$log"); treating the run as failed"; status=1; }
[[ $failed -gt 0 ]] && status=1
echo "test: ${passed} passed, ${failed} failed"
exit $status
