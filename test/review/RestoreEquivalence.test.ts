/**
 * A restart anywhere changes nothing: processing batches with the state persisted to the
 * changelog, restored into a fresh book at an arbitrary batch boundary, gives the same
 * aggregate, counts, outcome and rows as processing without a restart.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { ConsumedRecord, OutgoingRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { latestByKey } from "../../src/kernel/state/Changelog.ts"
import { changelogRecords, restoreFrom } from "../../src/review/JobChangelog.ts"
import type { JobBook } from "../../src/review/JobBook.ts"
import { renderAggregate } from "../../src/review/stats/JobAggregate.ts"
import { bookInputs, splitAt, type BookInput } from "../support/Arbitraries.ts"
import { newBook, ok } from "../support/Book.ts"

type Input = BookInput

const inputs = bookInputs(12, 50)

const encoder = new TextEncoder()
const asConsumed = (records: ReadonlyArray<OutgoingRecord>): Array<ConsumedRecord> =>
  records.map((r, offset) => ({
    topic: r.topic,
    partition: 0,
    offset,
    timestamp: 0,
    key: typeof r.key === "string" ? encoder.encode(r.key) : r.key,
    value: typeof r.value === "string" ? encoder.encode(r.value) : r.value,
    headers: r.headers ?? {}
  }))

/** Runs the batches; before batch `restartAt` the book is rebuilt from the changelog alone. */
const run = (batches: ReadonlyArray<ReadonlyArray<Input>>, expected: number, restartAt: number | undefined) => {
  let book: JobBook = newBook()
  const changelog: Array<OutgoingRecord> = []
  const rows: Array<string> = []
  /** One batch: apply it, end it, keep its rows and its changelog. */
  const step = (now: number, apply: (b: JobBook) => void) => {
    apply(book)
    const { records, activity } = book.endBatch(now)
    rows.push(...records.filter((r) => r.topic === "rows").map((r) => String(r.key)))
    changelog.push(...changelogRecords("state", book, activity))
  }
  step(0, (b) => b.control(ok({ job_id: "job", status: "done", step: "collection", expected_count: expected }), 0))
  batches.forEach((batch, i) => {
    if (i === restartAt) {
      book = newBook()
      restoreFrom(book, latestByKey(asConsumed(changelog)), i + 1)
    }
    step(i + 1, (b) => {
      for (const input of batch) {
        if (input.side === "t") b.transform(ok(input.r), i + 1, i + 1)
        else b.analysis(ok(input.r), i + 1, i + 1)
      }
    })
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
