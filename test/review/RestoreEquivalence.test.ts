/**
 * A restart anywhere changes nothing: processing batches with the state persisted to the
 * changelog, restored into a fresh task at an arbitrary batch boundary, gives the same
 * aggregate, counts, outcome and rows as processing without a restart.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { renderAggregate } from "../../src/review/stats/JobAggregate.ts"
import { bookInputs, splitAt, type BookInput } from "../support/Arbitraries.ts"
import { newBook } from "../support/Book.ts"

type Input = BookInput

const inputs = bookInputs(12, 50)

/** Runs the batches; before batch `restartAt` the task is rebuilt from the changelog alone. */
const run = (batches: ReadonlyArray<ReadonlyArray<Input>>, expected: number, restartAt: number | undefined) => {
  const book = newBook()
  const rows: Array<string> = []
  const keep = (records: ReadonlyArray<{ readonly topic: string; readonly key: unknown }>) =>
    rows.push(...records.filter((r) => r.topic === "rows").map((r) => String(r.key)))
  book.control({ job_id: "job", status: "done", step: "collection", expected_count: expected })
  keep(book.endBatch(0).records)
  batches.forEach((batch, i) => {
    if (i === restartAt) {
      book.harness.at(i + 1)
      expect(book.restart().skipped, "every changelog record restores").toBe(0)
    }
    book.harness.at(i + 1)
    for (const input of batch) {
      if (input.side === "t") book.transform(input.r)
      else book.analysis(input.r)
    }
    keep(book.endBatch(i + 1).records)
  })
  const job = book.job("job")!
  return {
    aggregate: renderAggregate("job", job.stats, false, new Date(0)),
    quality: job.quality,
    outcome: job.stages.ended === undefined ? "running" : `${job.stages.ended.stage}/${job.stages.ended.status}`,
    rows: [...new Set(rows)].sort(),
    pendingJoins: book.pendingJoins
  }
}

describe("state restore", () => {
  it("gives the same results whether or not the service restarts between two batches", () =>
    fc.assert(fc.property(inputs, fc.array(fc.nat()), fc.nat(), fc.integer({ min: 1, max: 14 }), (raw, cuts, restart, expected) => {
      const batches = splitAt(raw, cuts)
      const restartAt = batches.length === 0 ? undefined : restart % batches.length
      expect(run(batches, expected, restartAt)).toEqual(run(batches, expected, undefined))
    })))
})
