/**
 * The service: the aggregator pipeline on a real Kafka cluster (BOOTSTRAP_SERVERS) until
 * SIGTERM/SIGINT. Stopping lets the in-flight batch finish and commit, then leaves the
 * group and disconnects (each step bounded by SHUTDOWN_TIMEOUT_MS) and exits 0.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Exit, Layer, Runtime } from "effect"
import { AggregatorHandle } from "./app/AggregatorHandle.ts"
import * as AggregatorPipeline from "./app/AggregatorPipeline.ts"
import * as TopicSetup from "./app/TopicSetup.ts"
import { AppConfig } from "./config/AppConfig.ts"
import { KafkaConfig } from "./config/KafkaConfig.ts"
import * as HttpApi from "./http/HttpApi.ts"
import * as KafkaJs from "./kernel/kafka/KafkaJs.ts"
import { KafkaHealth } from "./observability/KafkaHealth.ts"
import * as Logging from "./observability/Logging.ts"
import * as Telemetry from "./observability/Telemetry.ts"

// Built bottom-up: settings, the HTTP surface (so /healthz answers while Kafka connects
// and state restores), Kafka and its reachability probe, telemetry, topic checks, then
// the pipeline.
const Service = AggregatorPipeline.foreground.pipe(
  Layer.provide(TopicSetup.layer),
  Layer.provide(Telemetry.layer),
  Layer.provideMerge(KafkaHealth.probing),
  Layer.provideMerge(KafkaJs.layer),
  Layer.provideMerge(KafkaConfig.layer),
  Layer.provideMerge(HttpApi.layer),
  Layer.provideMerge(KafkaHealth.layer),
  Layer.provideMerge(AggregatorHandle.layer),
  Layer.provideMerge(AppConfig.layer)
)

// Logging reports a fatal failure itself, in the service's log format.
NodeRuntime.runMain(Logging.withServiceLogging(Layer.launch(Service)), {
  disableErrorReporting: true,
  // A signal interrupts the service; stopping cleanly after it is success, not exit 130.
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
})
