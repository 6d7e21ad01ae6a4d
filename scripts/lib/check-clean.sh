#!/usr/bin/env bash
# After a full test run: checks that no test left data on the shared platform, i.e. no rows in the
# `public` schema (what the operator CLI lists), no objects in the shared bucket, and no test schemas,
# buckets or Redis keys left over. Prints what it found; exit 1 when anything is there, 2 when it
# cannot look.
#
#   bash scripts/lib/check-clean.sh                 everything (run when no test is running)
#   bash scripts/lib/check-clean.sh --public-only   only public rows and the shared bucket
#
# Needs the platform up and packages/testing built (pnpm turbo run build --filter=@flywheel/testing...).
set -euo pipefail
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
[[ -f .flywheel/platform.env ]] || die "no .flywheel/platform.env" "run: bash scripts/platform.sh up"
[[ -f packages/testing/dist/checkClean.js ]] || die "packages/testing is not built" "run: pnpm turbo run build --filter=@flywheel/testing..."
set -a; source .flywheel/platform.env; set +a
exec node packages/testing/dist/checkClean.js "$@"
