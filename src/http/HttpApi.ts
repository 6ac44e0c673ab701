/**
 * The HTTP surface (SPEC 8): /healthz (alive), /readyz (state restored), /metrics
 * (Prometheus text), GET /jobs and /jobs/:job_id (stage statuses and current
 * aggregate), and a status page at /.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Clock, Effect, Layer, Option } from "effect"
import { HttpMiddleware, HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { AggregatorHandle } from "../app/AggregatorHandle.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { jobView } from "../review/JobView.ts"
import type { ReviewAggregator } from "../review/ReviewAggregator.ts"
import { statusPage } from "./StatusPage.ts"

const notReady = HttpServerResponse.jsonUnsafe({ status: "restoring state" }, { status: 503 })

const withAggregator = <E, R>(f: (aggregator: ReviewAggregator["Service"]) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const handle = yield* AggregatorHandle
    const current = yield* handle.current
    return Option.isNone(current) ? notReady : yield* f(current.value)
  })

// Probes and scrapes come every few seconds: they are not logged.
const routes = Layer.mergeAll(
  HttpRouter.add("GET", "/healthz", HttpMiddleware.withLoggerDisabled(Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" })))),
  HttpRouter.add("GET", "/readyz", HttpMiddleware.withLoggerDisabled(withAggregator(() => Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ready" }))))),
  HttpRouter.add("GET", "/jobs", withAggregator((aggregator) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const jobs = yield* aggregator.jobs
      return HttpServerResponse.jsonUnsafe(jobs.map((j) => {
        const { aggregate: _aggregate, ...summary } = jobView(j, now)
        return summary
      }))
    }))),
  HttpRouter.add("GET", "/jobs/:job_id", withAggregator((aggregator) =>
    Effect.gen(function*() {
      const { job_id } = yield* HttpRouter.params
      const job = job_id === undefined ? undefined : yield* aggregator.job(job_id)
      if (job === undefined) return HttpServerResponse.jsonUnsafe({ error: `no job ${job_id} in state` }, { status: 404 })
      return HttpServerResponse.jsonUnsafe(jobView(job, yield* Clock.currentTimeMillis))
    }))),
  HttpRouter.add("GET", "/", Effect.gen(function*() {
    const handle = yield* AggregatorHandle
    const current = yield* handle.current
    const now = yield* Clock.currentTimeMillis
    const jobs = Option.isNone(current) ? [] : (yield* current.value.jobs).map((j) => jobView(j, now))
    return HttpServerResponse.html(statusPage(jobs, Option.isSome(current)))
  })),
  PrometheusMetrics.layerHttp()
)

/** Serves the routes on HTTP_PORT for the lifetime of the layer. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const { httpPort } = yield* AppConfig
  return HttpRouter.serve(routes).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port: httpPort })))
}))
