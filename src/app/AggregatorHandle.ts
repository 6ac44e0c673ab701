/**
 * The running aggregator, once its state is restored. The HTTP surface starts before
 * restore finishes (so liveness is answered at once) and asks here whether the service
 * is ready and for the jobs to show.
 */
import { Context, Deferred, Effect, Layer, Option } from "effect"
import type { ReviewAggregator } from "../review/ReviewAggregator.ts"

export class AggregatorHandle extends Context.Service<AggregatorHandle, {
  readonly ready: (aggregator: ReviewAggregator["Service"]) => Effect.Effect<void>
  /** The aggregator if state restore has finished. */
  readonly current: Effect.Effect<Option.Option<ReviewAggregator["Service"]>>
}>()("review-aggregator/AggregatorHandle") {
  static readonly layer = Layer.effect(AggregatorHandle, Effect.gen(function*() {
    const deferred = yield* Deferred.make<ReviewAggregator["Service"]>()
    return AggregatorHandle.of({
      ready: (aggregator) => Effect.asVoid(Deferred.succeed(deferred, aggregator)),
      current: Deferred.poll(deferred).pipe(Effect.flatMap((polled) =>
        Option.isNone(polled) ? Effect.succeedNone : Effect.map(polled.value, Option.some)))
    })
  }))
}
