/**
 * "The result never depends on arrival order or on how records were batched": the
 * same records, shuffled and cut into arbitrary batches, render the same aggregate,
 * including the sentiment split that needs both sides of a review.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { renderAggregate } from "../../src/review/stats/JobAggregate.ts"
import { bookInputs, splitAt, type BookInput } from "../support/Arbitraries.ts"
import { newBook } from "../support/Book.ts"

type Input = BookInput

const inputs = bookInputs(30, 60)

const aggregateOf = (batches: ReadonlyArray<ReadonlyArray<Input>>) => {
  const book = newBook()
  let now = 0
  for (const batch of batches) {
    for (const input of batch) {
      if (input.side === "t") book.transform(input.r)
      else book.analysis(input.r)
    }
    book.endBatch(now++)
  }
  const job = book.job("job")
  return job === undefined ? undefined : renderAggregate("job", job.stats, false, new Date(0))
}

/** First record per (side, review id) in the given order: the ones that count. */
const firstPerReview = (items: ReadonlyArray<Input>) => {
  const seen = new Set<string>()
  return items.filter((i) => {
    const key = `${i.side}|${i.r.review_id}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

describe("JobBook aggregation", () => {
  it("renders the same aggregate for any order and any batching of distinct reviews", () =>
    fc.assert(fc.property(inputs, fc.array(fc.nat()), fc.array(fc.nat()), (raw, cuts, order) => {
      const distinct = firstPerReview(raw)
      const reordered = [...distinct].sort((a, b) => {
        const ka = order[distinct.indexOf(a) % Math.max(order.length, 1)] ?? 0
        const kb = order[distinct.indexOf(b) % Math.max(order.length, 1)] ?? 0
        return ka - kb
      })
      expect(aggregateOf(splitAt(reordered, cuts))).toEqual(aggregateOf([distinct]))
    })))

  it("counts each review id once per topic: repeats change nothing", () =>
    fc.assert(fc.property(inputs, fc.array(fc.nat()), (raw, cuts) => {
      const distinct = firstPerReview(raw)
      expect(aggregateOf(splitAt([...distinct, ...distinct], cuts))).toEqual(aggregateOf([distinct]))
    })))
})
