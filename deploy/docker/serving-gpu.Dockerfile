# syntax=docker/dockerfile:1.7
# Serving on CUDA: onnxruntime-node with its CUDA execution provider (onnxruntime 1.30 ships it for
# CUDA 12 + cuDNN 9, fetched at install time; service.Dockerfile skips that download).
#   docker build -f deploy/docker/serving-gpu.Dockerfile -t flywheel/serving-gpu .
# ONNX_EXECUTION_PROVIDERS=cuda,cpu is set here: encoder sessions (the heavy part) run on the GPU; if
# the provider cannot start (no GPU visible, driver too old) serving says so once and runs on the CPU.
ARG NODE_IMAGE=node:20.18.1-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04

FROM ${NODE_IMAGE} AS toolchain
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
RUN corepack enable && corepack prepare pnpm@9.15.9 --activate
WORKDIR /repo

FROM toolchain AS build
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch
COPY . .
# The CPU images skip the download; here the install script fetches the CUDA 12 provider libraries.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm install --frozen-lockfile
RUN pnpm exec turbo run build --filter="@flywheel/svc-serving..."
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    rm -rf node_modules packages/*/node_modules services/*/node_modules \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm install --frozen-lockfile --prod --filter="@flywheel/svc-serving..." \
 && rm -rf packages/*/src services/*/src packages/*/*.tsbuildinfo \
 && test -f services/serving/dist/main.js \
 && find node_modules/.pnpm -path '*onnxruntime-node*' -name 'libonnxruntime_providers_cuda.so' | grep -q . \
    || { echo "the onnxruntime CUDA provider was not installed" >&2; exit 1; }

FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS runtime
# Node from the pinned official image (its binary needs glibc 2.28; Ubuntu 22.04 has 2.35).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin node
ENV NODE_ENV=production SERVICE=serving PORT=8080 ONNX_EXECUTION_PROVIDERS=cuda,cpu
WORKDIR /app
COPY --from=build /repo/node_modules ./node_modules
COPY --from=build /repo/packages ./packages
COPY --from=build /repo/services/serving ./services/serving
COPY deploy/docker/migrate.mjs ./services/serving/migrate.mjs
WORKDIR /app/services/serving
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
