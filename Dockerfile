# Athena: task queue for AI coding agents (REST API + Discord bot + dashboard + MCP).
#
#   docker build -t athena-bot .
#   docker run -d --name athena-bot -p 5051:5051 -v "$PWD/data:/app/data" athena-bot
#
# Two stages built FROM the same base image, so the native better-sqlite3 addon
# compiled in "build" runs in "runtime" against the same Node major (ABI) and
# the same glibc. To pin harder, pass a digest:
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> .
ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------- build stage
FROM ${NODE_IMAGE} AS build

# Toolchain for node-gyp (better-sqlite3 is compiled from source, no prebuilt download).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

ENV npm_config_build_from_source=true \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false

# Dependencies first (cached layer while package*.json are unchanged).
# --ignore-scripts: the root "prepare" script needs the sources, which are not
# copied yet; the native addon is then built explicitly with `npm rebuild`.
# Node's headers ship in the image (/usr/local/include/node): use them instead
# of letting node-gyp download them.
COPY package.json package-lock.json ./
RUN if [ -f /usr/local/include/node/common.gypi ]; then export npm_config_nodedir=/usr/local; fi \
 && npm ci --ignore-scripts \
 && npm rebuild better-sqlite3 esbuild \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

# Sources, bundle (dist/athena.mjs, dist/athena-cli.mjs, assets), then drop dev deps
# and the native build's intermediates (objects, sqlite sources). The mkdir keeps
# the runtime COPYs below valid while a folder is still empty (git keeps none).
COPY . .
RUN npm run build \
 && test -f dist/athena.mjs \
 && mkdir -p src/store/migrations/sqlite src/store/migrations/postgres src/web/public \
 && npm prune --omit=dev --ignore-scripts \
 && rm -rf node_modules/better-sqlite3/build/Release/obj \
           node_modules/better-sqlite3/build/Release/obj.target \
           node_modules/better-sqlite3/build/Release/.deps \
           node_modules/better-sqlite3/build/Release/sqlite3.a \
           node_modules/better-sqlite3/deps \
           node_modules/better-sqlite3/src \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

# -------------------------------------------------------------- runtime stage
FROM ${NODE_IMAGE} AS runtime

LABEL org.opencontainers.image.title="athena-bot" \
      org.opencontainers.image.description="Athena: task queue for AI coding agents (REST API, Discord bot, dashboard, MCP)" \
      org.opencontainers.image.licenses="MIT"

# tini (PID 1) forwards SIGTERM/SIGINT to node and reaps zombies.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    API_HOST=0.0.0.0 \
    API_PORT=5051 \
    DB_PATH=/app/data/athena.db \
    TZ=UTC

WORKDIR /app

# Application files stay owned by root (read-only for the service user);
# only /app/data is writable.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/store/migrations ./src/store/migrations
COPY --from=build /app/src/web/public ./src/web/public

# The base image's unprivileged user "node" (uid 1000, gid 1000) runs the service.
# A bind-mounted ./data must be writable by uid 1000 (chown 1000:1000 data).
RUN mkdir -p /app/data \
 && chown node:node /app/data \
 && chmod 0750 /app/data

VOLUME /app/data

USER node

EXPOSE 5051

# No curl in the slim image: Node's built-in fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||5051)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"

ENTRYPOINT ["tini", "--"]
CMD ["node", "dist/athena.mjs", "serve"]
