# syntax=docker/dockerfile:1.7
# The trainer on CUDA: TensorFlow.js with @tensorflow/tfjs-node-gpu (CUDA 11.8 + cuDNN 8, what tfjs-node-gpu 4.x links against).
#   docker build -f deploy/docker/trainer-gpu.Dockerfile -t flywheel/trainer-gpu .
# @flywheel/learning imports the GPU binding by name at run time and falls back to tfjs-node, wasm, cpu,
# so the same code runs on both images; the startup log names the backend chosen.
ARG NODE_IMAGE=node:20.18.1-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
ARG TFJS_VERSION=4.22.0

FROM ${NODE_IMAGE} AS toolchain
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 \
    ONNXRUNTIME_NODE_INSTALL_CUDA=skip
RUN corepack enable && corepack prepare pnpm@9.15.9 --activate
WORKDIR /repo

FROM toolchain AS build
ARG TFJS_VERSION
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm install --offline --frozen-lockfile
RUN pnpm exec turbo run build --filter="@flywheel/svc-trainer..."
# The GPU binding is added to the learning package only in this image, so that it shares learning's
# @tensorflow/tfjs instance (a second copy would register the backend with the wrong engine).
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    rm -rf node_modules packages/*/node_modules services/*/node_modules \
 && pnpm --filter @flywheel/learning add "@tensorflow/tfjs-node-gpu@${TFJS_VERSION}" \
 && rm -rf node_modules packages/*/node_modules services/*/node_modules \
 && pnpm install --prod --filter="@flywheel/svc-trainer..." \
 && rm -rf packages/*/src services/*/src \
 && test -f services/trainer/dist/main.js

FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS runtime
# Node from the pinned official image (its binary needs glibc 2.28; Ubuntu 22.04 has 2.35).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin node
ENV NODE_ENV=production SERVICE=trainer PORT=8084
WORKDIR /app
COPY --from=build /repo/node_modules ./node_modules
COPY --from=build /repo/packages ./packages
COPY --from=build /repo/services/trainer ./services/trainer
COPY deploy/docker/migrate.mjs ./services/trainer/migrate.mjs
WORKDIR /app/services/trainer
USER 1000:1000
EXPOSE 8084
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
