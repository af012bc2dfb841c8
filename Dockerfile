# Two images from one file:
#   app    the API and the worker (one image, two commands), compiled to JavaScript in dist/
#   nginx  Debian's nginx in front of the API and of the S3 store, configured from nginx/, serving
#          the web page in web/
# docker-compose.yml builds both; `docker build --target app .` builds one.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

# Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Compiles the TypeScript into dist/. Plain node runs it without tsx's loader thread, which
# saved a started worker 20 to 30 MiB of RSS.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY functions ./functions
COPY runtime ./runtime
COPY infra ./infra
COPY scripts ./scripts
RUN npm run build

FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production \
    API_HOST=0.0.0.0 \
    API_PORT=3000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
# The node user (uid 1000) of the base image; the app writes no files of its own.
USER node
EXPOSE 3000
# The API's /health checks Redis and S3. The worker serves /health on METRICS_PORT (9464)
# instead, and docker-compose.yml points the worker's check there.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch(process.argv[1], { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))", "http://127.0.0.1:3000/health"]
# The same command as `npm run api:compiled`; `npm run worker:compiled` is the same with
# dist/runtime/entry/worker.js. node runs as PID 1 without npm in between, so SIGTERM reaches
# the service's own handler.
CMD ["node", "--import", "./dist/runtime/telemetry/register.js", "dist/runtime/entry/api.js"]

FROM ${DEBIAN_IMAGE} AS nginx
# apt-get starts no service inside an image build, so no system nginx runs besides ours.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx gettext-base curl \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled /etc/nginx/conf.d/*
COPY nginx/nginx.conf.template nginx/api-proxy.conf.template /etc/nginx/templates/
COPY nginx/conf.d/ /etc/nginx/templates/conf.d/
COPY --chmod=755 nginx/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
# The web page: plain HTML, CSS and ES modules, served as they are at /app/ from NGINX_WEB_ROOT.
COPY web/ /usr/share/nginx/export-web/
# The values that docker-entrypoint.sh puts into the templates. Compose sets the upstreams;
# HTTPS starts when a certificate and key are mounted at the two NGINX_TLS_* paths.
ENV NGINX_PID_FILE=/run/nginx.pid \
    NGINX_ERROR_LOG=stderr \
    NGINX_ACCESS_LOG=/dev/stdout \
    NGINX_TEMP_DIR=/var/lib/nginx \
    NGINX_HTTP_LISTEN=80 \
    NGINX_HTTPS_LISTEN=443 \
    NGINX_S3_LISTEN=9000 \
    NGINX_API_UPSTREAM=api:3000 \
    NGINX_S3_UPSTREAM=minio:9000 \
    NGINX_CLIENT_MAX_BODY_SIZE=65536 \
    NGINX_TLS_CERTIFICATE=/etc/nginx/certs/tls.crt \
    NGINX_TLS_CERTIFICATE_KEY=/etc/nginx/certs/tls.key \
    NGINX_WEB_ROOT=/usr/share/nginx/export-web
EXPOSE 80 443 9000
# Any HTTP answer, even a 502 while the API restarts, shows that nginx itself is up.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["curl", "--silent", "--output", "/dev/null", "--max-time", "4", "http://127.0.0.1/health"]
# SIGQUIT is nginx's graceful stop; worker_shutdown_timeout in the config caps how long open
# SSE streams can hold it.
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["nginx", "-c", "/etc/nginx/nginx.conf"]
