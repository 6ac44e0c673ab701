/**
 * How far the JS heap grows past the live heap the last full collection left before the
 * next one (HEAP_GROWTH_PERCENT), applied to V8 when the service starts: V8 then uses this
 * factor in place of its own choice.
 *
 * Why: under the service's allocation rate V8 lets the heap grow to up to four times the
 * live heap before it collects in full. The live heap stays small (the review index is
 * outside it), so that reserve was most of the service's memory: a million-review job on
 * the wire peaked at 512 to 563 MiB, and at 361 to 369 MiB with the heap growing by
 * half, for about a quarter more CPU per record (docs/performance.md). 0 gives the
 * choice back to V8 for throughput where memory is plentiful.
 */
import { setFlagsFromString } from "node:v8"
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

/** The V8 option for a growth of `percent` (0: V8's own, dynamic, growth). */
export const heapGrowthFlag = (percent: number): string => `--heap-growing-percent=${percent}`

export const layer = Layer.effectDiscard(Effect.gen(function*() {
  const { heapGrowthPercent } = yield* AppConfig
  // V8 reads it whenever a full collection sets the next limit, so it holds from here on.
  setFlagsFromString(heapGrowthFlag(heapGrowthPercent))
  yield* Effect.logDebug(
    heapGrowthPercent === 0
      ? "JS heap growth left to V8 (HEAP_GROWTH_PERCENT=0)"
      : `JS heap grows ${heapGrowthPercent}% past its live size between full collections (HEAP_GROWTH_PERCENT)`
  )
}))
