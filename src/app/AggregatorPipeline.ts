/** The running service: the review aggregator on the kernel's stream processor. */
import { Effect, Layer, Option } from "effect"
import { AggregatorHandle } from "./AggregatorHandle.ts"
import { ReviewAggregator } from "../review/ReviewAggregator.ts"

export const runPipeline = Effect.gen(function*() {
  const aggregator = yield* ReviewAggregator
  // State is restored once the aggregator exists: from here on the service is ready.
  const handle = yield* Effect.serviceOption(AggregatorHandle)
  if (Option.isSome(handle)) yield* handle.value.ready(aggregator)
  yield* Effect.scoped(aggregator.run)
})

/** Forks the pipeline for the lifetime of the layer (replay, demo, tests read its outputs meanwhile). */
export const layer = Layer.effectDiscard(Effect.forkScoped(runPipeline)).pipe(Layer.provideMerge(ReviewAggregator.layer))

/**
 * The pipeline as the service's foreground work: building this layer runs it until
 * interrupted (SIGTERM) or until it fails, so a fatal Kafka error ends the process with a
 * failure instead of leaving a live process that no longer consumes.
 */
export const foreground = Layer.effectDiscard(runPipeline).pipe(Layer.provideMerge(ReviewAggregator.layer))
