#!/usr/bin/env bash
# Idempotent bootstrap of a fresh machine (Debian 12, root): system tools, pnpm 9, dependencies, build.
# Quiet: details go to .flywheel/logs/setup.log (and apt.log). Safe to run before every command.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  cat <<'USAGE'
usage: bash scripts/setup.sh
  Idempotent bootstrap of a fresh machine (Debian 12, root): system tools (kcat, chromium, hey,
  promtool, kubectl), pnpm 9, dependencies and the build. Safe to run before every command;
  details go to .flywheel/logs/setup.log.
USAGE
  exit 0
fi
cd "$ROOT"

PNPM_VERSION=9.15.9
LOG="$LOG_DIR/setup.log"
mkdir -p "$LOG_DIR"
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip # no prebuilt downloads here
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

# Node 20+
command -v node >/dev/null 2>&1 || die "node is not installed" "install Node.js 20 or newer"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[[ "$node_major" -ge 20 ]] || die "Node.js $(node -v) is too old" "install Node.js 20 or newer"

# System tools (installed only when the binary is missing; apt-get update runs at most once).
ensure_apt curl curl
ensure_apt flock util-linux
ensure_apt kcat kcat                    # Kafka mock cluster for scripts/platform.sh
ensure_apt chromium chromium            # headless report rendering in tests
ensure_apt promtool prometheus          # validates deploy/ alert rules
ensure_apt kubectl kubernetes-client    # validates k8s/ manifests
ensure_apt hey hey                      # steady-rate HTTP load for bench:serve
info "setup: system tools ok (kcat, chromium, promtool, kubectl, hey)"

# pnpm 9 (packageManager in package.json pins $PNPM_VERSION)
pnpm_major() { pnpm --version 2>/dev/null | cut -d. -f1; }
if [[ "$(pnpm_major)" != 9 ]]; then
  info "setup: installing pnpm@$PNPM_VERSION (found: $(pnpm --version 2>/dev/null || echo none))"
  run_logged "$LOG" "npm i -g pnpm@$PNPM_VERSION" npm i -g "pnpm@$PNPM_VERSION" \
    || die "could not install pnpm@$PNPM_VERSION with npm" "install it by hand: npm i -g pnpm@$PNPM_VERSION (or: corepack enable)"
  hash -r
  [[ "$(pnpm_major)" == 9 ]] || die "pnpm on PATH is $(pnpm --version 2>/dev/null || echo missing), not 9.x" \
    "put npm's global bin ($(npm prefix -g)/bin) first on PATH"
fi

# Dependencies. flock serialises with other installs in the same checkout on a shared machine.
install_args=(install)
[[ -f pnpm-lock.yaml ]] && install_args+=(--frozen-lockfile)
if ! run_logged "$LOG" "pnpm ${install_args[*]}" flock /tmp/pnpm.lock pnpm "${install_args[@]}"; then
  if grep -q 'ERR_PNPM_OUTDATED_LOCKFILE' "$LOG"; then
    die "pnpm-lock.yaml does not match the package.json files" "run 'pnpm install' and commit the updated pnpm-lock.yaml"
  fi
  die "pnpm install failed" "see $(rel "$LOG"); fix the cause (network to the npm registry? a bad version?) and re-run"
fi
info "setup: dependencies installed (pnpm $(pnpm --version))"

# Build every workspace package (turbo caches unchanged ones).
run_logged "$LOG" "pnpm turbo run build" pnpm turbo run build --output-logs=errors-only \
  || die "the build failed" "see $(rel "$LOG"); fix the TypeScript errors shown there, then re-run"
info "setup: build ok (log: $(rel "$LOG"))"
