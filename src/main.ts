/**
 * The service: the aggregator pipeline on a real Kafka cluster (BOOTSTRAP_SERVERS) until
 * SIGTERM/SIGINT. Stopping lets the write in flight finish within SHUTDOWN_TIMEOUT_MS,
 * then leaves the group, disconnects and exits 0, at the latest SHUTDOWN_TIMEOUT_MS + 2 s
 * after the signal whatever the broker does (unfinished work is consumed again after a restart).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import { AggregatorHandle } from "./app/AggregatorHandle.ts"
import * as AggregatorPipeline from "./app/AggregatorPipeline.ts"
import * as HeapGrowth from "./app/HeapGrowth.ts"
import * as TopicSetup from "./app/TopicSetup.ts"
import { AppConfig } from "./config/AppConfig.ts"
import { KafkaConfig } from "./config/KafkaConfig.ts"
import * as HttpApi from "./http/HttpApi.ts"
import * as KafkaJs from "./kernel/kafka/KafkaJs.ts"
import { KafkaHealth } from "./observability/KafkaHealth.ts"
import * as Logging from "./observability/Logging.ts"
import * as Telemetry from "./observability/Telemetry.ts"

/**
 * Backstop for the shutdown bound: once a stop signal arrives, the process exits (0: the
 * stop was asked for) SHUTDOWN_TIMEOUT_MS + 2 s later even if a step still waits, e.g. a
 * disconnect from a broker that does not answer after the write in flight was abandoned.
 */
const ShutdownBackstop = Layer.effectDiscard(Effect.gen(function*() {
  const { shutdownTimeoutMs } = yield* KafkaConfig
  const limitMs = shutdownTimeoutMs + 2_000
  const log = Effect.runSyncWith(yield* Effect.context<never>())
  const arm = () =>
    setTimeout(() => {
      log(Effect.logWarning(`shutdown still not done ${limitMs} ms after the stop signal (SHUTDOWN_TIMEOUT_MS + 2 s); exiting`))
      process.exit(0)
    }, limitMs).unref()
  yield* Effect.acquireRelease(
    Effect.sync(() => ["SIGTERM", "SIGINT"].forEach((signal) => process.once(signal, arm))),
    () => Effect.sync(() => ["SIGTERM", "SIGINT"].forEach((signal) => process.off(signal, arm)))
  )
}))

// Built bottom-up: settings and the heap's growth, the HTTP surface (so /healthz answers while Kafka connects
// and state restores), Kafka and its reachability probe, telemetry, topic checks, then
// the pipeline.
const Service = AggregatorPipeline.foreground.pipe(
  Layer.provide(TopicSetup.layer),
  Layer.provide(Telemetry.layer),
  Layer.provideMerge(KafkaHealth.probing),
  Layer.provideMerge(KafkaJs.layer),
  Layer.provideMerge(ShutdownBackstop),
  Layer.provideMerge(KafkaConfig.layer),
  Layer.provideMerge(HttpApi.layer),
  Layer.provideMerge(KafkaHealth.layer),
  Layer.provideMerge(AggregatorHandle.layer),
  Layer.provideMerge(HeapGrowth.layer),
  Layer.provideMerge(AppConfig.layer)
)

// Logging reports a fatal failure itself, in the service's log format.
NodeRuntime.runMain(Logging.withServiceLogging(Layer.launch(Service)), {
  disableErrorReporting: true,
  // A signal interrupts the service; stopping cleanly after it is success, not exit 130.
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
})
