/**
 * Where spans go: the tracer provider for Effect's spans and the job spans, with the
 * exporters the Node SDK builds from the standard variables (OTEL_TRACES_EXPORTER,
 * OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL, _ENDPOINT, _HEADERS, OTEL_BSP_*), as for metrics.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import type { Attributes, Context, Link, SpanKind } from "@opentelemetry/api"
import { ParentBasedSampler, type Sampler, SamplingDecision, type SamplingResult, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"

/**
 * The Kafka adapter's own operations (start-up reads, health checks, subscribing) are
 * worth seeing inside the work that needed them, never as traces of their own: a root
 * span of the adapter is not recorded, and so neither is anything under it.
 */
export class NoAdapterRoots implements Sampler {
  constructor(private readonly adapterPrefix: string = "KafkaJs.") {}
  shouldSample(_context: Context, _traceId: string, name: string, _kind: SpanKind, _attributes: Attributes, _links: Array<Link>): SamplingResult {
    return { decision: name.startsWith(this.adapterPrefix) ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED }
  }
  toString(): string {
    return `NoAdapterRoots{${this.adapterPrefix}}`
  }
}

/** Spans with a parent follow the parent's sampling decision (an upstream traceparent's flags too). */
export const sampler = (): Sampler => new ParentBasedSampler({ root: new NoAdapterRoots() })

/** The configured span processors; none when OTEL_TRACES_EXPORTER is `none`. */
export const spanProcessors = Effect.promise(async () => {
  // Loaded only when exporting: the SDK's environment helpers pull in every exporter (gRPC too).
  const { getSpanProcessorsFromEnv } = await import("@opentelemetry/sdk-node/build/src/utils.js")
  // The Node SDK's processors come from sdk-trace, which sdk-trace-base re-exports.
  return getSpanProcessorsFromEnv(undefined) as Array<SpanProcessor>
})

/** Effect's tracer on an OpenTelemetry provider that exports through `processors`; flushed when the layer closes. */
export const layer = (processors: readonly [SpanProcessor, ...Array<SpanProcessor>]): Layer.Layer<OtelTracer.OtelTracer, never, Resource.Resource> =>
  OtelTracer.layer.pipe(Layer.provide(NodeSdk.layerTracerProvider(processors, { sampler: sampler() })))
