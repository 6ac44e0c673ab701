# review-aggregator service image. Build: docker build -t review-aggregator .
# The service runs compiled: esbuild turns src/ into dist/main.js in the build stage, so the
# image holds no TypeScript, no tsx and no compiler, and the service compiles nothing at
# start-up (about 50 MiB less RSS on Node 24; docs/performance.md).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Every dependency: esbuild, the build's compiler, is a development one.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: what dist/main.js imports.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json's "type": "module" makes dist/main.js and the launcher ES modules.
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY bin/review-aggregator-dist ./bin/
USER node
EXPOSE 8080
# node runs the service in its own process (exec form, no shell or npm in between; the
# launcher imports dist/main.js into that process), so SIGTERM reaches it and shutdown
# drains and commits. The launcher says why it is not `node --enable-source-maps dist/main.js`.
CMD ["node", "bin/review-aggregator-dist"]
