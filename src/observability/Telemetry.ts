/**
 * OpenTelemetry wiring. Tracing and metric export are on only when an OTLP endpoint is
 * configured with the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true turns it off). The SDK's own
 * environment handling reads the rest of OTEL_* (TraceExport, MetricsExport). Effect spans
 * (batches, Kafka writes) and the job spans of JobTracer go to the same tracer provider.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { Config, Context, Effect, Layer, Option } from "effect"
import * as MetricsExport from "./MetricsExport.ts"
import * as ServiceResource from "./ServiceResource.ts"
import { disabledStageTracer, makeStageTracer, type StageTracer } from "./StageTracing.ts"
import * as TraceExport from "./TraceExport.ts"

export const TelemetrySettings = Config.all({
  endpoint: Config.option(Config.String("OTEL_EXPORTER_OTLP_ENDPOINT")),
  tracesEndpoint: Config.option(Config.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
  disabled: Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("review-aggregator"))
})

/** Job-level spans (see StageTracing); disabled when tracing is off. */
export class JobTracer extends Context.Service<JobTracer, StageTracer>()("review-aggregator/JobTracer") {
  static readonly disabled = Layer.succeed(JobTracer, disabledStageTracer)
}

/** Effect's tracer and the JobTracer on the exporting provider, or the disabled JobTracer when no exporter is configured. */
const tracing = Layer.unwrap(Effect.gen(function*() {
  const processors = yield* TraceExport.spanProcessors
  if (!isNonEmpty(processors)) {
    yield* Effect.logInfo("tracing off: OTEL_TRACES_EXPORTER=none")
    return JobTracer.disabled
  }
  const jobTracer = Layer.effect(JobTracer, Effect.gen(function*() {
    return makeStageTracer(yield* OtelTracer.OtelTracer, "job")
  }))
  return jobTracer.pipe(Layer.provideMerge(TraceExport.layer(processors)))
}))

const isNonEmpty = <A>(as: ReadonlyArray<A>): as is readonly [A, ...Array<A>] => as.length > 0

/** The SDK (when configured) and the JobTracer on top of it; shut down (and flushed) with the layer. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const settings = yield* TelemetrySettings
  const enabled = !settings.disabled && (Option.isSome(settings.endpoint) || Option.isSome(settings.tracesEndpoint))
  if (!enabled) {
    yield* Effect.logInfo("tracing off: no OTEL_EXPORTER_OTLP_ENDPOINT")
    return JobTracer.disabled
  }
  return Layer.mergeAll(tracing, MetricsExport.layer).pipe(Layer.provide(ServiceResource.layer(settings.serviceName)))
}))
