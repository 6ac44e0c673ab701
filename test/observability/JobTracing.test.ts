/**
 * SPEC 8: one trace per job, rooted in the collector's traceparent when it sent one,
 * a span per stage, and every output of the job carrying the job's traceparent. No job
 * span is held open: the root is written when the job is first seen, a stage's span when
 * the stage ends, and a restarted process continues the trace without writing a stage twice.
 */
import { describe, expect, it } from "@effect/vitest"
import { SpanStatusCode } from "@opentelemetry/api"
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import * as OrderedStages from "../../src/kernel/lifecycle/OrderedStages.ts"
import { makeStageTracer } from "../../src/observability/StageTracing.ts"
import { JobTracer } from "../../src/observability/Telemetry.ts"
import { parseTraceparent } from "../../src/observability/TraceContext.ts"
import { analysisOf, collectionDone, output, pipelineLayer, send, settle, transformOf } from "../support/Pipeline.ts"

const collectorTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
const jobOf = (span: ReadableSpan) => span.attributes["job.id"]

describe("job traces", () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = Layer.succeed(JobTracer, makeStageTracer(provider.getTracer("test"), "job"))

  it.effect("records a root span per job under the collector's trace and a span per stage", () =>
    Effect.gen(function*() {
      // The job's first record carries the upstream trace context (any input topic may).
      yield* send("control", [collectionDone("t1", 1)], { traceparent: collectorTrace })
      yield* settle
      // The root is exported as soon as the job is seen, before any stage ends.
      const early = exporter.getFinishedSpans().filter((s) => jobOf(s) === "t1")
      expect(early.map((s) => s.name), "t1's spans while its transform stage runs").toEqual(["job", "stage collection"])
      yield* send("transform", [transformOf("t1", "r1")])
      yield* send("analysis", [analysisOf("t1", "r1")])
      yield* send("control", [collectionDone("t2", 2), { job_id: "t2", step: "transform", status: "error", error_message: "boom" }])
      yield* settle
      const spans = exporter.getFinishedSpans()
      const root = spans.find((s) => s.name === "job" && jobOf(s) === "t1")!
      expect(root, "root span of t1").toBeDefined()
      expect(root.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736")
      expect(root.parentSpanContext?.spanId).toBe("00f067aa0ba902b7")
      const stages = spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId && s.name.startsWith("stage "))
      expect(stages.map((s) => s.name).sort()).toEqual(["stage aggregation", "stage analysis", "stage collection", "stage transform"])
      expect(stages.every((s) => s.parentSpanContext?.spanId === root.spanContext().spanId), "stages are children of the root").toBe(true)
      expect(stages.every((s) => jobOf(s) === "t1"), "stage spans carry job.id").toBe(true)
      // Every output of t1 carries the root span's context.
      const outputs = [...(yield* output("rowsTopic")), ...(yield* output("aggregateTopic"))].filter((r) => r.headers["traceparent"]?.includes(root.spanContext().traceId))
      expect(outputs.length).toBe(2)
      expect(outputs.every((r) => parseTraceparent(r.headers["traceparent"])?.spanId === root.spanContext().spanId)).toBe(true)
      // A failed job's failing stage carries an error status and the job's outcome.
      const failedRoot = spans.find((s) => s.name === "job" && jobOf(s) === "t2")!
      const failedStage = spans.find((s) => s.name === "stage transform" && s.spanContext().traceId === failedRoot.spanContext().traceId)
      expect(failedStage?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: "boom" })
      expect(failedStage?.attributes["job.outcome"]).toBe("failed")
    }).pipe(Effect.provide(pipelineLayer({}, tracer))))

  it("continues a job's trace after a restart without writing a stage span twice", () => {
    const restartExporter = new InMemorySpanExporter()
    const restartProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(restartExporter)] })
    const timeout = 60_000
    const t0 = Date.UTC(2026, 10, 25)
    const millis = (time: readonly [number, number]) => time[0] * 1_000 + time[1] / 1e6
    // First process: the job is seen at 1000, collection ends at 2000, then SIGTERM.
    const before = makeStageTracer(restartProvider.getTracer("before"), "job")
    const traceparent = before.start("j", t0 + 1_000, undefined)
    let stages = OrderedStages.start(["collection", "transform", "analysis"] as const, t0 + 1_000, timeout)
    stages = OrderedStages.complete(stages, "collection", t0 + 2_000, timeout)
    before.sync("j", stages, traceparent)
    // Second process: restored from state; transform ends, then analysis times out.
    const after = makeStageTracer(restartProvider.getTracer("after"), "job")
    after.restored("j", stages)
    after.sync("j", stages, traceparent)
    stages = OrderedStages.complete(stages, "transform", t0 + 3_000, timeout)
    after.sync("j", stages, traceparent)
    stages = OrderedStages.end(stages, "analysis", "timeout", "no analysis", t0 + 4_000)
    after.sync("j", stages, traceparent)
    after.sync("j", stages, traceparent)

    const spans = restartExporter.getFinishedSpans()
    expect(spans.map((s) => s.name), "one span per stage, root first").toEqual(["job", "stage collection", "stage transform", "stage analysis"])
    const root = parseTraceparent(traceparent)!
    for (const span of spans.slice(1)) {
      expect(span.spanContext().traceId, `${span.name} in the job's trace`).toBe(root.traceId)
      expect(span.parentSpanContext?.spanId, `${span.name} under the exported root`).toBe(root.spanId)
    }
    expect(millis(spans[2]!.startTime), "transform starts when collection ended, before the restart").toBe(t0 + 2_000)
    expect(spans[3]!.status.code, "a timed-out stage is an error").toBe(SpanStatusCode.ERROR)
    expect(after.open(), "an ended job is no longer followed").toBe(0)
  })
})
