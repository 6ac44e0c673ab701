/**
 * The running service: the review aggregator on the kernel's task runtime. State is
 * restored only once this instance holds the partitions: a standby (a second instance
 * with the same APPLICATION_ID) restores when it takes over, after the active one's
 * last writes; from then on the service is ready. Scaled out (PARTITION_ASSIGNMENT),
 * members share the partitions and each is ready once its first assignment is restored.
 */
import { Effect, Layer, Option } from "effect"
import { KafkaConfig } from "../config/KafkaConfig.ts"
import { ReviewAggregator } from "../review/ReviewAggregator.ts"
import { AggregatorHandle } from "./AggregatorHandle.ts"

export const runPipeline = Effect.gen(function*() {
  const aggregator = yield* ReviewAggregator
  const handle = yield* Effect.serviceOption(AggregatorHandle)
  // On a real cluster SHUTDOWN_TIMEOUT_MS bounds the write in flight at shutdown.
  const kafkaConfig = yield* Effect.serviceOption(KafkaConfig)
  const ready = Option.isSome(handle) ? handle.value.ready(aggregator) : Effect.void
  const kafka = Option.getOrUndefined(kafkaConfig)
  yield* Effect.scoped(aggregator.run(ready, kafka?.shutdownTimeoutMs, kafka?.topicPartitions))
})

/** Forks the pipeline for the lifetime of the layer (replay, demo, tests read its outputs meanwhile). */
export const layer = Layer.effectDiscard(Effect.forkScoped(runPipeline)).pipe(Layer.provideMerge(ReviewAggregator.layer))

/**
 * The pipeline as the service's foreground work: building this layer runs it until
 * interrupted (SIGTERM) or until it fails, so a fatal Kafka error ends the process with a
 * failure instead of leaving a live process that no longer consumes.
 */
export const foreground = Layer.effectDiscard(runPipeline).pipe(Layer.provideMerge(ReviewAggregator.layer))
