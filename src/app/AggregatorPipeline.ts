/** The running service: the review aggregator on the kernel's stream processor. */
import { Context, Effect, Layer, Option } from "effect"
import { AggregatorHandle } from "./AggregatorHandle.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { KafkaConfig } from "../config/KafkaConfig.ts"
import * as StreamProcessor from "../kernel/runtime/StreamProcessor.ts"
import { ReviewAggregator } from "../review/ReviewAggregator.ts"

/** How often clocks are checked (deadlines, join windows, periodic publishing). */
export const tickIntervalMs = (config: Pick<AppConfig["Service"], "windowInactivityMs" | "timeoutMs">): number =>
  Math.max(10, Math.min(1_000, Math.floor(Math.min(config.windowInactivityMs, config.timeoutMs) / 10)))

/** The pipeline, its aggregator (state restored) built by `aggregator` once this instance holds the partitions. */
const pipeline = <E, R>(aggregator: Effect.Effect<ReviewAggregator["Service"], E, R>) => Effect.gen(function*() {
  const config = yield* AppConfig
  const handle = yield* Effect.serviceOption(AggregatorHandle)
  // On a real cluster SHUTDOWN_TIMEOUT_MS bounds the write in flight at shutdown.
  const kafkaConfig = yield* Effect.serviceOption(KafkaConfig)
  yield* StreamProcessor.runWhenActive({
    groupId: config.applicationId,
    topics: [config.transformTopic, config.analysisTopic, config.controlTopic],
    guarantee: config.processingGuarantee,
    tickIntervalMs: tickIntervalMs(config),
    shutdownGraceMs: Option.getOrUndefined(kafkaConfig)?.shutdownTimeoutMs
  }, Effect.gen(function*() {
    const restored = yield* aggregator
    // State is restored once the aggregator exists: from here on the service is ready.
    if (Option.isSome(handle)) yield* handle.value.ready(restored)
    return restored
  }))
})

export const runPipeline = pipeline(Effect.gen(function*() {
  return yield* ReviewAggregator
}))

/** Forks the pipeline for the lifetime of the layer (replay, demo, tests read its outputs meanwhile). */
export const layer = Layer.effectDiscard(Effect.forkScoped(runPipeline)).pipe(Layer.provideMerge(ReviewAggregator.layer))

/**
 * The pipeline as the service's foreground work: building this layer runs it until
 * interrupted (SIGTERM) or until it fails, so a fatal Kafka error ends the process with a
 * failure instead of leaving a live process that no longer consumes. State is restored
 * only once this instance holds the partitions: a standby (a second instance with the
 * same APPLICATION_ID) restores when it takes over, after the active one's last writes.
 */
export const foreground = Layer.effectDiscard(
  pipeline(Layer.build(ReviewAggregator.layer).pipe(Effect.map(Context.get(ReviewAggregator))))
)
