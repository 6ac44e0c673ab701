/**
 * The HTTP surface (SPEC 8): /healthz (alive), /readyz (state restored and Kafka
 * reachable), /metrics (Prometheus text), GET /jobs (paged) and /jobs/:job_id (stage
 * statuses and current aggregate), and the operator console at /.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { Clock, Data, Effect, Layer, Option } from "effect"
import { HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { createServer } from "node:http"
import { AggregatorHandle } from "../app/AggregatorHandle.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { KafkaHealth } from "../observability/KafkaHealth.ts"
import * as ProcessMetrics from "../observability/ProcessMetrics.ts"
import * as ReviewMetrics from "../observability/ReviewMetrics.ts"
import { jobView } from "../review/JobView.ts"
import type { ReviewAggregator } from "../review/ReviewAggregator.ts"
import { jobPage, pageRequest } from "./JobListing.ts"
import { statusPage } from "./StatusPage.ts"

const notRestored = HttpServerResponse.jsonUnsafe({ status: "restoring state" }, { status: 503 })

const withAggregator = <E, R>(f: (aggregator: ReviewAggregator["Service"]) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const handle = yield* AggregatorHandle
    const current = yield* handle.current
    return Option.isNone(current) ? notRestored : yield* f(current.value)
  })

const readiness = Effect.gen(function*() {
  const restored = Option.isSome(yield* (yield* AggregatorHandle).current)
  const kafka = yield* (yield* KafkaHealth).current
  const ready = restored && kafka.connected
  return HttpServerResponse.jsonUnsafe({
    status: ready ? "ready" : "not ready",
    state: restored ? "restored" : "restoring",
    kafka: kafka.connected ? "reachable" : "unreachable",
    kafka_last_contact_at: kafka.lastOkAt === undefined ? null : new Date(kafka.lastOkAt).toISOString(),
    ...(kafka.lastError === undefined ? {} : { kafka_error: kafka.lastError })
  }, { status: ready ? 200 : 503 })
})

const badRequest = (message: string) => HttpServerResponse.jsonUnsafe({ error: message }, { status: 400 })

const jobsPage = withAggregator((aggregator) =>
  Effect.gen(function*() {
    const request = pageRequest(yield* HttpServerRequest.ParsedSearchParams)
    if (typeof request === "string") return badRequest(request)
    const now = yield* Clock.currentTimeMillis
    return HttpServerResponse.jsonUnsafe(jobPage(yield* aggregator.jobs, request, (j) => {
      const { aggregate: _aggregate, ...summary } = jobView(j, now)
      return summary
    }))
  }))

const consolePage = Effect.gen(function*() {
  const request = pageRequest(yield* HttpServerRequest.ParsedSearchParams)
  if (typeof request === "string") return badRequest(request)
  const current = yield* (yield* AggregatorHandle).current
  const now = yield* Clock.currentTimeMillis
  const jobs = Option.isNone(current) ? [] : yield* current.value.jobs
  return HttpServerResponse.html(statusPage({
    now,
    restored: Option.isSome(current),
    kafka: yield* (yield* KafkaHealth).current,
    lag: yield* ReviewMetrics.currentLag,
    page: jobPage(jobs, request, (j) => jobView(j, now))
  }))
})

const metricsText = Effect.map(PrometheusMetrics.format(), (body) =>
  HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))

/** Probes, scrapes and the console's own refreshes come every few seconds: not logged, not traced. */
const quietPaths = new Set(["/healthz", "/readyz", "/metrics", "/", "/favicon.ico"])
const quiet = HttpMiddleware.withLoggerDisabled

const routes = Layer.mergeAll(
  HttpRouter.add("GET", "/healthz", quiet(Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" })))),
  HttpRouter.add("GET", "/readyz", quiet(readiness)),
  HttpRouter.add("GET", "/metrics", quiet(metricsText)),
  HttpRouter.add("GET", "/jobs", jobsPage),
  HttpRouter.add("GET", "/jobs/:job_id", withAggregator((aggregator) =>
    Effect.gen(function*() {
      const { job_id } = yield* HttpRouter.params
      const job = job_id === undefined ? undefined : yield* aggregator.job(job_id)
      if (job === undefined) return HttpServerResponse.jsonUnsafe({ error: `no job ${job_id} in state` }, { status: 404 })
      return HttpServerResponse.jsonUnsafe(jobView(job, yield* Clock.currentTimeMillis))
    }))),
  HttpRouter.add("GET", "/", quiet(consolePage)),
  // Browsers ask for it with every page view.
  HttpRouter.add("GET", "/favicon.ico", quiet(Effect.succeed(HttpServerResponse.empty({ status: 204 }))))
)

/** The HTTP port could not be opened; names the setting and the port. */
export class HttpPortUnavailable extends Data.TaggedError("HttpPortUnavailable")<{
  readonly message: string
  readonly cause: unknown
}> {}

const describeListenFailure = (port: number, cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  if (code === "EADDRINUSE") return `HTTP_PORT ${port} is already in use by another process; stop it or set HTTP_PORT to a free port`
  if (code === "EACCES") return `HTTP_PORT ${port} needs privileges this process does not have; use a port above 1023`
  return `cannot listen on HTTP_PORT ${port}: ${cause instanceof Error ? cause.message : String(cause)}`
}

/**
 * Serves the routes on HTTP_PORT for the lifetime of the layer, with the metric series
 * and process metrics registered from the start (so /metrics is complete at once).
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const { httpPort } = yield* AppConfig
  return HttpRouter.serve(routes).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: httpPort })),
    Layer.provide(Layer.succeed(HttpMiddleware.TracerDisabledWhen, (request) => quietPaths.has(request.url.split("?")[0]!))),
    Layer.catchTag("ServeError", (error) =>
      Layer.effectDiscard(Effect.fail(new HttpPortUnavailable({ message: describeListenFailure(httpPort, error.cause), cause: error.cause })))),
    Layer.merge(ProcessMetrics.layer),
    Layer.merge(ReviewMetrics.layer)
  )
}))
