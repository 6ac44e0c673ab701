/**
 * OTLP export of the service's Effect metrics, configured the way every OpenTelemetry SDK
 * is: the reader and exporter come from the Node SDK's own environment handling
 * (OTEL_METRIC_EXPORT_INTERVAL/TIMEOUT, OTEL_EXPORTER_OTLP[_METRICS]_PROTOCOL, _ENDPOINT,
 * _HEADERS, ...). The choices it would only warn about are checked here at start-up.
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import type { Resource } from "@effect/opentelemetry/Resource"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import { Config, Effect, Layer, Schema } from "effect"

const protocols = ["grpc", "http/protobuf", "http/json"] as const
const positiveMillis = (name: string) => Config.option(Config.schema(Schema.Int.check(Schema.isGreaterThan(0)), name))

export const MetricsExportSettings = Config.all({
  /** `otlp` (default) or `none`; /metrics serves Prometheus either way. */
  exporter: Config.Literals(["otlp", "none"], "OTEL_METRICS_EXPORTER").pipe(Config.withDefault<"otlp" | "none">("otlp")),
  protocol: Config.option(Config.Literals(protocols, "OTEL_EXPORTER_OTLP_PROTOCOL")),
  metricsProtocol: Config.option(Config.Literals(protocols, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")),
  temporality: Config.Literals(["cumulative", "delta"], "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE").pipe(
    Config.withDefault<"cumulative" | "delta">("cumulative")
  ),
  interval: positiveMillis("OTEL_METRIC_EXPORT_INTERVAL"),
  timeout: positiveMillis("OTEL_METRIC_EXPORT_TIMEOUT")
})

/** Periodic OTLP export of the Effect metric registry, flushed when the layer closes. */
export const layer: Layer.Layer<never, Config.ConfigError, Resource> = Layer.unwrap(Effect.gen(function*() {
  const settings = yield* MetricsExportSettings
  if (settings.exporter === "none") return Layer.empty
  // Loaded only when exporting: the SDK's environment helpers pull in every exporter (gRPC too).
  const { getOtlpMetricExporterFromEnv, getPeriodicExportingMetricReaderFromEnv } = yield* Effect.promise(() =>
    import("@opentelemetry/sdk-node/build/src/utils.js")
  )
  // The Node SDK bundles its own copy of sdk-metrics; its reader is the same class.
  return OtelMetrics.layer(() => getPeriodicExportingMetricReaderFromEnv(getOtlpMetricExporterFromEnv()) as MetricReader, {
    temporality: settings.temporality
  })
}))
