/**
 * /metrics is complete from start-up: every series with known labels at 0 before the
 * first batch, process and runtime metrics, and units that say what a value is.
 * Then OTLP export follows the standard OTEL_* variables (interval, protocol).
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { AggregatorHandle } from "../../src/app/AggregatorHandle.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as HttpApi from "../../src/http/HttpApi.ts"
import { KafkaHealth } from "../../src/observability/KafkaHealth.ts"
import * as Telemetry from "../../src/observability/Telemetry.ts"
import { testTopics } from "../support/Pipeline.ts"
import { randomListenPort } from "../support/ListenPort.ts"

const port = randomListenPort()
const metrics = Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))

/** An OTLP/HTTP receiver keeping the JSON bodies it is sent, per path. */
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

describe("metrics", () => {
  it.live("are all on /metrics before the first batch, with process and runtime metrics", () =>
    Effect.gen(function*() {
      const text = yield* metrics
      for (const series of [
        `review_aggregator_records_in_total{topic="${testTopics.transformTopic}"} 0`,
        `review_aggregator_records_in_total{topic="${testTopics.controlTopic}"} 0`,
        `review_aggregator_reviews_counted_total{side="analysis"} 0`,
        `review_aggregator_dlq_records_total{error_type="schema"} 0`,
        `review_aggregator_duplicates_total 0`,
        `review_aggregator_late_records_total 0`,
        `review_aggregator_record_to_aggregate_latency_seconds_count 0`,
        `review_aggregator_job_count_accuracy_ratio_count 0`,
        `review_aggregator_state_pending_join_keys 0`,
        `review_aggregator_kafka_connected 0`
      ]) expect(text, `series ${series}`).toContain(series)
      expect(text).toMatch(/review_aggregator_jobs_finished_total\{(step="transform",status="timeout"|status="timeout",step="transform")\} 0/)
      for (const name of [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_uptime_seconds",
        "nodejs_heap_size_used_bytes",
        "nodejs_eventloop_lag_p99_seconds",
        "nodejs_eventloop_utilization_ratio"
      ]) expect(text, `runtime metric ${name}`).toMatch(new RegExp(`^${name} [0-9.e+-]+$`, "m"))
      const rss = Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)![1])
      expect(rss, "RSS in bytes").toBeGreaterThan(1_000_000)
      expect(text, "the unit is not a Prometheus label").not.toMatch(/unit="/)
    }).pipe(Effect.provide(HttpApi.layer.pipe(
      Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: port })),
      Layer.provide(KafkaHealth.layer),
      Layer.provide(AggregatorHandle.layer)
    ))))

  it.live("are exported over OTLP at OTEL_METRIC_EXPORT_INTERVAL with OTEL_EXPORTER_OTLP_PROTOCOL, with units", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_METRIC_EXPORT_INTERVAL: "200" }
      // The SDK's exporters read the process environment themselves.
      Object.assign(process.env, env)
      const telemetry = Telemetry.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))
      const exported = yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(telemetry)
        // Well before the SDK's default interval of 60 s, and while the reader is open.
        for (let i = 0; i < 100; i++) {
          const bodies = otlp.bodies.get("/v1/metrics") ?? []
          if (bodies.length > 0) return bodies
          yield* Effect.sleep("100 millis")
        }
        return []
      }))
      for (const name of Object.keys(env)) delete process.env[name]
      expect(exported.length, "metrics arrived while running, at the configured interval").toBeGreaterThan(0)
      const body = JSON.parse(exported[0]!)
      const all = body.resourceMetrics.flatMap((r: any) => r.scopeMetrics.flatMap((s: any) => s.metrics)) as Array<{ name: string; unit: string }>
      const unitOf = (name: string) => all.find((m) => m.name === name)?.unit
      expect(unitOf("review_aggregator_record_to_aggregate_latency_seconds"), "seconds histogram in s").toBe("s")
      expect(unitOf("process_resident_memory_bytes")).toBe("By")
      expect(unitOf("review_aggregator_records_in_total")).toBe("{record}")
    }).pipe(Effect.provide(HttpApi.layer.pipe(
      Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: port + 1 })),
      Layer.provide(KafkaHealth.layer),
      Layer.provide(AggregatorHandle.layer)
    ))))

  it.effect("refuse an unknown OTLP protocol, naming the variable", () =>
    Effect.gen(function*() {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1", OTEL_EXPORTER_OTLP_PROTOCOL: "carrier-pigeon" }
      const failure = yield* Effect.flip(Effect.scoped(Layer.build(Telemetry.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env)))))))
      expect(String(failure)).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL/)
    }))
})
