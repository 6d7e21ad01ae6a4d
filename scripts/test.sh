#!/usr/bin/env bash
# Runs every test on real stores: sets the machine up, starts the local platform, then typecheck,
# lint and every package's tests (unit + integration + end-to-end). Stops what it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'USAGE'
usage: bash scripts/test.sh
  Every test on real stores: sets the machine up (scripts/setup.sh), starts the local platform
  (scripts/platform.sh up), runs typecheck, lint and every package's unit, integration and
  end-to-end tests, prints one summary line, and stops the platform if this run started it.
  Exit status 0 when everything passed. Log: .flywheel/logs/test.log
USAGE
  exit 0
fi
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
early_failures=()
report_tool="scripts/lib/test-report.mjs"
report_rel="$(node "$report_tool" report-path)"
# Stale reports from an earlier run would be counted again.
find packages services test tools -maxdepth 5 -path "*/$report_rel" -delete 2>/dev/null || true

# Whether public was clean before the run: only then is "clean after" a check of the tests.
clean_before=0
bash scripts/lib/check-clean.sh --public-only >/dev/null 2>&1 && clean_before=1

info "test: typecheck and lint"
phase_start=$SECONDS
# check = typecheck + lint on one TypeScript program per package (scripts/lib/check-package.mjs).
pnpm turbo run check --continue --output-logs=errors-only --concurrency=2 >>"$log" 2>&1 || {
  status=1
  early_failures+=("!typecheck or lint failed (the errors are above and in $(rel "$log"))")
  echo "test: typecheck or lint failed:"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E 'error|Failed:' | head -40
}

info "test: typecheck and lint took $((SECONDS - phase_start)) s"
info "test: unit, integration and end-to-end tests, one line per file as it finishes (full log: $(rel "$log"))"
phase_start=$SECONDS
# Each package's vitest also writes a JSON report (failures with their reasons) for the summary.
set +e
# --only: setup and the typecheck step built every package, so no test waits behind a build
# replay and the long end-to-end files can start as early as the short ones.
# Three packages at a time on two cores: most integration files spend their time waiting on the
# broker (group joins take seconds), so a third slot fills idle CPU; typecheck/lint above is
# CPU-bound and stays at two.
pnpm turbo run test --only --continue --output-logs=full --concurrency=3 -- \
  --reporter=default --reporter=json --outputFile.json="$report_rel" 2>&1 | tee -a "$log" | node "$report_tool" live
turbo_status=${PIPESTATUS[0]}
set -e
info "test: the tests took $((SECONDS - phase_start)) s"
[[ $turbo_status -eq 0 ]] || status=1
# Nothing a test made may be visible to a user of this machine: no rows in `public` (what the CLI
# lists) and no test objects in the shared bucket.
if [[ $clean_before -eq 0 ]]; then
  echo "test: public held data before the run (your own models?), so the tests' cleanliness was not checked"
elif ! bash scripts/lib/check-clean.sh --public-only; then
  status=1
  early_failures+=("!the tests left data in the public schema or the shared bucket (listed above)")
fi
# Test tasks turbo saw fail (also those that never wrote a report).
mapfile -t failed_tasks < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -oE '^\s*@[^#[:space:]]+#test' | sed -E 's/^\s*//; s/#test$//' | sort -u)
FLYWHEEL_TEST_LOG="$log" node "$report_tool" summary "$ROOT" "${early_failures[@]}" "${failed_tasks[@]}" || status=1
exit $status
