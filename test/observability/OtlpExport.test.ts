/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, job and batch spans reach an OTLP/HTTP endpoint
 * (here a local stand-in for the collector); without it tracing stays off.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as Telemetry from "../../src/observability/Telemetry.ts"
import { analysisOf, collectionDone, pipelineLayer, send, settle, transformOf } from "../support/Pipeline.ts"

/** An OTLP/HTTP receiver that keeps the bodies it is sent, per path. */
const receiver = Effect.acquireRelease(
  Effect.callback<{ server: Server; url: string; bodies: Map<string, Array<string>> }>((resume) => {
    const bodies = new Map<string, Array<string>>()
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c) => chunks.push(c))
      req.on("end", () => {
        bodies.set(req.url ?? "", [...(bodies.get(req.url ?? "") ?? []), Buffer.concat(chunks).toString("utf8")])
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies })))
  }),
  ({ server }) => Effect.callback<void>((resume) => void server.close(() => resume(Effect.void)))
)

describe("OTLP export", () => {
  it.live("sends the job's spans to OTEL_EXPORTER_OTLP_ENDPOINT", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      process.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.url
      const telemetry = Telemetry.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }))))
      yield* Effect.scoped(Effect.gen(function*() {
        const tracer = yield* Layer.build(telemetry)
        yield* Effect.gen(function*() {
          yield* send("control", [collectionDone("otlp-job", 1)])
          yield* send("transform", [transformOf("otlp-job", "r1")])
          yield* send("analysis", [analysisOf("otlp-job", "r1")])
          yield* settle
        }).pipe(Effect.provide(pipelineLayer({}, Layer.succeedContext(tracer))))
      })) // closing the SDK's scope flushes the span processor
      delete process.env["OTEL_EXPORTER_OTLP_ENDPOINT"]
      const traces = (otlp.bodies.get("/v1/traces") ?? []).join("\n")
      expect(traces, "no spans arrived at /v1/traces").toContain("job otlp-job")
      expect(traces).toContain("stage aggregation")
      expect(traces).toContain("review-aggregator.batch")
    }))

  it.effect("is off without an endpoint", () =>
    Effect.gen(function*() {
      const tracer = yield* Telemetry.JobTracer
      expect(tracer.start("j", 0, undefined)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      expect(tracer.open()).toBe(0)
    }).pipe(Effect.provide(Telemetry.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({})))))))
})
