/**
 * The Kafka adapter's operations are recorded inside the work that needed them, never as
 * traces of their own (health checks would otherwise make a trace every few seconds).
 */
import { describe, expect, it } from "@effect/vitest"
import { context, trace } from "@opentelemetry/api"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { sampler } from "../../src/observability/TraceExport.ts"

describe("trace sampling", () => {
  it("drops adapter spans at the root of a trace and keeps them under a batch", () => {
    const exporter = new InMemorySpanExporter()
    const tracer = new BasicTracerProvider({ sampler: sampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer("test")
    const lone = tracer.startSpan("KafkaJs.partitionCount")
    tracer.startSpan("KafkaJs.readAll", {}, trace.setSpan(context.active(), lone)).end()
    lone.end()
    const batch = tracer.startSpan("process orders")
    tracer.startSpan("KafkaJs.commit", {}, trace.setSpan(context.active(), batch)).end()
    batch.end()
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["KafkaJs.commit", "process orders"])
  })
})
