/**
 * SPEC 8: one trace per job, rooted in the collector's traceparent when it sent one,
 * a span per stage, and every output of the job carrying the job's traceparent.
 */
import { describe, expect, it } from "@effect/vitest"
import { SpanStatusCode } from "@opentelemetry/api"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { makeStageTracer } from "../../src/observability/StageTracing.ts"
import { JobTracer } from "../../src/observability/Telemetry.ts"
import { parseTraceparent } from "../../src/observability/TraceContext.ts"
import { analysisOf, collectionDone, output, pipelineLayer, send, settle, transformOf } from "../support/Pipeline.ts"

const collectorTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

describe("job traces", () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = Layer.succeed(JobTracer, makeStageTracer(provider.getTracer("test"), "job"))

  it.effect("records a root span per job under the collector's trace and a span per stage", () =>
    Effect.gen(function*() {
      // The job's first record carries the upstream trace context (any input topic may).
      yield* send("control", [collectionDone("t1", 1)], { traceparent: collectorTrace })
      yield* settle
      yield* send("transform", [transformOf("t1", "r1")])
      yield* send("analysis", [analysisOf("t1", "r1")])
      yield* send("control", [collectionDone("t2", 2), { job_id: "t2", step: "transform", status: "error", error_message: "boom" }])
      yield* settle
      const spans = exporter.getFinishedSpans()
      const root = spans.find((s) => s.name === "job t1")!
      expect(root, "root span of t1").toBeDefined()
      expect(root.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736")
      expect(root.parentSpanContext?.spanId).toBe("00f067aa0ba902b7")
      const stages = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId && s.name.startsWith("stage "))
      expect(stages.map((s) => s.name).sort()).toEqual(["stage aggregation", "stage analysis", "stage collection", "stage transform"])
      expect(stages.every((s) => s.parentSpanContext?.spanId === root.spanContext().spanId)).toBe(true)
      // Every output of t1 carries the root span's context.
      const outputs = [...(yield* output("rowsTopic")), ...(yield* output("aggregateTopic"))].filter((r) => r.headers["traceparent"]?.includes(root.spanContext().traceId))
      expect(outputs.length).toBe(2)
      expect(outputs.every((r) => parseTraceparent(r.headers["traceparent"])?.spanId === root.spanContext().spanId)).toBe(true)
      // A failed job's root and failing stage carry an error status.
      const failedRoot = spans.find((s) => s.name === "job t2")!
      expect(failedRoot.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "boom" })
      expect(spans.find((s) => s.name === "stage transform" && s.spanContext().traceId === failedRoot.spanContext().traceId)?.status.code).toBe(SpanStatusCode.ERROR)
    }).pipe(Effect.provide(pipelineLayer({}, tracer))))
})
