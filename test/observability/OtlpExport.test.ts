/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, job and batch spans reach an OTLP/HTTP endpoint
 * (here a local stand-in for the collector) in the protocol OTEL_EXPORTER_OTLP_PROTOCOL
 * names, with the service's resource; without an endpoint tracing stays off.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { hostname } from "node:os"
import packageJson from "../../package.json" with { type: "json" }
import * as Telemetry from "../../src/observability/Telemetry.ts"
import { SpanKind, startOtlpReceiver } from "../support/OtlpReceiver.ts"
import { analysisOf, collectionDone, pipelineLayer, send, settle, transformOf } from "../support/Pipeline.ts"

const receiver = Effect.acquireRelease(Effect.promise(startOtlpReceiver), (r) => Effect.promise(r.close))

/** Runs a job through the pipeline with the SDK configured from `env` (the SDK's exporters read process.env). */
const runJobWith = (env: Record<string, string>) =>
  Effect.gen(function*() {
    for (const [k, v] of Object.entries(env)) process.env[k] = v
    const telemetry = Telemetry.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))
    yield* Effect.scoped(Effect.gen(function*() {
      const tracer = yield* Layer.build(telemetry)
      yield* Effect.gen(function*() {
        yield* send("control", [collectionDone("otlp-job", 1)])
        yield* send("transform", [transformOf("otlp-job", "r1")])
        yield* send("analysis", [analysisOf("otlp-job", "r1")])
        yield* settle
      }).pipe(Effect.provide(pipelineLayer({}, Layer.succeedContext(tracer))))
    })).pipe(Effect.ensuring(Effect.sync(() => {
      for (const k of Object.keys(env)) delete process.env[k]
    }))) // closing the SDK's scope flushes the span processor
  })

describe("OTLP export", () => {
  it.live("sends the job's and the input events' spans as OTLP/JSON with the service's resource", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      yield* runJobWith({
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_RESOURCE_ATTRIBUTES: "k8s.pod.name=aggregator-0,k8s.namespace.name=kafka"
      })
      const spans = otlp.spans()
      expect(spans.length, "no spans arrived at /v1/traces").toBeGreaterThan(0)
      const jobSpans = spans.filter((s) => s.attributes["job.id"] === "otlp-job")
      expect(jobSpans.map((s) => s.name).sort()).toEqual(["job", "stage aggregation", "stage analysis", "stage collection", "stage transform"])
      // One CONSUMER span per event: `process <topic>` when it read one topic, `process` with the topics listed otherwise.
      const events = spans.filter((s) => s.name === "process" || s.name.startsWith("process "))
      expect(events.length, "a process span per input event").toBeGreaterThan(0)
      const read = new Set<string>()
      for (const event of events) {
        expect(event.kind, event.name).toBe(SpanKind.consumer)
        expect(event.attributes, event.name).toMatchObject({
          "messaging.system": "kafka",
          "messaging.operation.type": "process",
          "messaging.consumer.group.name": "test-app",
          "messaging.batch.message_count": expect.any(Number)
        })
        const topics = event.name === "process"
          ? String(event.attributes["messaging.kafka.destinations"]).split(",")
          : [String(event.attributes["messaging.destination.name"])]
        if (event.name !== "process") expect(event.name).toBe(`process ${topics[0]}`)
        else expect(topics.length, "a plain `process` span lists the topics it read").toBeGreaterThan(1)
        for (const topic of topics) read.add(topic)
      }
      expect([...read].sort(), "the events read every input topic").toEqual(["analysis", "control", "transform"])
      expect(spans[0]!.resource).toMatchObject({
        "service.name": "review-aggregator",
        "service.version": packageJson.version,
        "service.instance.id": hostname(),
        "k8s.pod.name": "aggregator-0",
        "k8s.namespace.name": "kafka"
      })
    }))

  it.live("uses http/protobuf unless told otherwise, as every OpenTelemetry SDK does", () =>
    Effect.gen(function*() {
      const otlp = yield* receiver
      yield* runJobWith({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.url}/v1/traces` })
      const traces = (otlp.bodies.get("/v1/traces") ?? []).join("\n")
      expect(traces, "spans arrived at the traces endpoint").toContain("stage aggregation")
      expect(() => JSON.parse(otlp.bodies.get("/v1/traces")![0]!), "the body is protobuf, not JSON").toThrow()
    }))

  it.effect("is off without an endpoint", () =>
    Effect.gen(function*() {
      const tracer = yield* Telemetry.JobTracer
      expect(tracer.start("j", 0, undefined)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
      expect(tracer.open()).toBe(0)
    }).pipe(Effect.provide(Telemetry.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord({})))))))
})
