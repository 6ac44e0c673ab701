# review-aggregator service image. Build: docker build -t review-aggregator .
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (tsx runs the TypeScript sources directly).
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
USER node
EXPOSE 8080
# The start command runs the service in its own process (exec form, no shell or npm in
# between), so SIGTERM reaches it and shutdown drains and commits.
CMD ["node", "bin/review-aggregator"]
