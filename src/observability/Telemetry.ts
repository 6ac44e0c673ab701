/**
 * OpenTelemetry wiring. Tracing and metric export are on only when an OTLP endpoint is
 * configured with the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SDK_DISABLED=true turns it off). The OTLP
 * exporters read the rest of OTEL_* themselves. Effect spans (per batch) and the job
 * spans of JobTracer go to the same tracer provider.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import * as Resource from "@effect/opentelemetry/Resource"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, Context, Effect, Layer, Option } from "effect"
import * as MetricsExport from "./MetricsExport.ts"
import { disabledStageTracer, makeStageTracer, type StageTracer } from "./StageTracing.ts"

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

/**
 * The OpenTelemetry SDK: one tracer provider for Effect's spans and the job spans, and a
 * metric reader exporting Effect's metrics (MetricsExport). Shut down (and flushed) with the layer.
 */
const sdk = (serviceName: string) => {
  const resource = Resource.layerFromEnv(Resource.configToAttributes({ serviceName }))
  const tracing = OtelTracer.layer.pipe(Layer.provide(NodeSdk.layerTracerProvider(new BatchSpanProcessor(new OTLPTraceExporter()))))
  const jobTracer = Layer.effect(JobTracer, Effect.gen(function*() {
    return makeStageTracer(yield* OtelTracer.OtelTracer, "job")
  }))
  return Layer.mergeAll(jobTracer.pipe(Layer.provideMerge(tracing)), MetricsExport.layer).pipe(Layer.provideMerge(resource))
}

/** The SDK (when configured) and the JobTracer on top of it. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const settings = yield* TelemetrySettings
  const enabled = !settings.disabled && (Option.isSome(settings.endpoint) || Option.isSome(settings.tracesEndpoint))
  if (!enabled) {
    yield* Effect.logInfo("tracing off: no OTEL_EXPORTER_OTLP_ENDPOINT")
    return JobTracer.disabled
  }
  return sdk(settings.serviceName)
}))
