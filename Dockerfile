# syntax=docker/dockerfile:1
#
# Postern: the forward-auth service, as a container.
#
#   docker build -t postern .
#   docker run -p 9190:9190 -v postern-data:/data postern
#
# Node 26 in both stages: the Active LTS line in November 2026 (it entered LTS in October 2026),
# the newest Node that is meant for production. Postern itself needs Node >= 20.19.
# `-slim` is Debian (glibc). argon2 ships prebuilt linux-x64 and linux-arm64 glibc binaries
# (node_modules/argon2/prebuilds), built for Node-API 10, which Node >= 22.14 provides: on this
# image neither stage needs a compiler.
#
# test/deploy/dockerfile.test.ts parses this file and performs the runtime stage's steps on the
# test machine (production install, start, HEALTHCHECK), so keep every RUN a plain shell command.

# ---- build: dev dependencies, TypeScript → dist/ -------------------------------------------------
FROM node:26-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` script runs the build, which cannot work before src/
# is copied; the build runs explicitly below. The cache mount keeps npm's cache out of the layers.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and dist/ only --------------------------------------------
FROM node:26-slim AS runtime
# MALLOC_MMAP_THRESHOLD_: glibc then maps each 19 MiB argon2 buffer and unmaps it after the hash,
# instead of keeping it in a per-thread pool. Measured (bench/experiments/signin-pressure.mjs): RSS
# after a burst of sign-ins 183 MB with glibc's defaults, 137 MB with MALLOC_ARENA_MAX=2, 93 MB with
# this; the price is about a quarter fewer sign-ins per second at full load.
ENV NODE_ENV=production MALLOC_MMAP_THRESHOLD_=1048576
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts skips `prepare` (the TypeScript build: no compiler here, dist/ comes from the
# build stage). `npm rebuild argon2` then runs argon2's own install step alone: node-gyp-build
# test-loads the prebuilt binary and keeps it. On a Node too old for it (Node-API < 10, e.g. Node
# 20) it compiles from source instead, and fails the build loudly on this compiler-less image:
# better than a container that crashes on its first password hash.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts && npm rebuild argon2
COPY --from=build /src/dist ./dist
# The data volume belongs to the image's `node` user (uid 1000), which Postern runs as: on first
# start it writes the users file (with a generated admin password, printed once) into it.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
ENV POSTERN_DATA_DIR=/data
VOLUME /data
# The image's `node` user, written numerically so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9190
# No curl in the image: Node's own fetch asks /healthz. The port follows POSTERN_SERVER_PORT when
# it is set in the environment; a port set only in the config file needs this line changed too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.POSTERN_SERVER_PORT || 9190) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
