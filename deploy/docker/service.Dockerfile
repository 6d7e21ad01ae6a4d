# syntax=docker/dockerfile:1.7
# One image per service, built from the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=aggregator -t flywheel/aggregator .
# SERVICE is the folder under services/ (serving, feedback-ingest, aggregator, drift-monitor, trainer, ab-router).
# The trainer built here runs TensorFlow.js on wasm/cpu; trainer-gpu.Dockerfile adds tfjs-node-gpu on CUDA.
ARG NODE_IMAGE=node:20.18.1-bookworm-slim

FROM ${NODE_IMAGE} AS toolchain
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 \
    ONNXRUNTIME_NODE_INSTALL_CUDA=skip
RUN corepack enable && corepack prepare pnpm@9.15.9 --activate
WORKDIR /repo

FROM toolchain AS build
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<folder under services/>" >&2; exit 1; }
# Lockfile first: the fetched store is cached until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm install --offline --frozen-lockfile
RUN pnpm exec turbo run build --filter="@flywheel/svc-${SERVICE}..."
# Prune to production dependencies of this service and the packages it uses; sources and tests go too.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    rm -rf node_modules packages/*/node_modules services/*/node_modules \
 && pnpm install --offline --frozen-lockfile --prod --filter="@flywheel/svc-${SERVICE}..." \
 && rm -rf packages/*/src services/*/src packages/*/*.tsbuildinfo \
 && test -f "services/${SERVICE}/dist/main.js"
# @flywheel/learning/train imports TensorFlow.js as an (optional) peer, so serving's tree stays free
# of it; the trainer depends on tfjs itself, and learning must resolve the trainer's copy after the prune.
RUN if [ "${SERVICE}" = trainer ]; then \
      mkdir -p packages/learning/node_modules/@tensorflow \
      && for p in tfjs tfjs-backend-wasm; do ln -sfn "$(readlink -f "services/trainer/node_modules/@tensorflow/$p")" "packages/learning/node_modules/@tensorflow/$p"; done \
      && node -e "import('/repo/packages/learning/dist/trainIndex.js').then(() => console.log('learning/train loads tfjs'))"; \
    fi

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG PORT=8080
ENV NODE_ENV=production SERVICE=${SERVICE} PORT=${PORT}
WORKDIR /app
# Workspace links (services/x/node_modules/@flywheel/y -> ../../packages/y) need the same layout as the build.
COPY --from=build /repo/node_modules ./node_modules
COPY --from=build /repo/packages ./packages
COPY --from=build /repo/services/${SERVICE} ./services/${SERVICE}
# One-shot migration entry point (Jobs and compose run it before the service starts).
COPY deploy/docker/migrate.mjs ./services/${SERVICE}/migrate.mjs
WORKDIR /app/services/${SERVICE}
# The official node image's "node" user (uid 1000); nothing in /app is writable by it.
USER 1000:1000
EXPOSE ${PORT}
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
