/**
 * A changelog written by the previous version (job store version 2, one record per
 * review index entry and per waiting join side, sides as decoded JSON plus base64
 * source) restores into this version, which then carries on exactly as the previous
 * version did without a restart, and moves the old per-key records into its chunks.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { newBook } from "../support/Book.ts"
import { firstLife, jobsSummary, plain, secondLife } from "../support/UpgradeScenario.ts"

interface PlainRecord {
  readonly topic: string
  readonly key: string | null
  readonly value: string | null
  readonly headers: Readonly<Record<string, string>>
}
const fixture: {
  readonly changelog: ReadonlyArray<PlainRecord>
  readonly expected: ReadonlyArray<PlainRecord>
  readonly jobs: unknown
} = JSON.parse(readFileSync(new URL("../fixtures/changelog/previous-version.json", import.meta.url), "utf8"))

/** Keys whose last record is a value: what a compacted changelog still holds. */
const liveKeys = (records: ReadonlyArray<{ readonly key: unknown; readonly value: unknown }>) => {
  const last = new Map<string, boolean>()
  for (const r of records) last.set(String(r.key), r.value !== null)
  return [...last].filter(([, live]) => live).map(([key]) => key).sort()
}

describe("a changelog written by the previous version", () => {
  it("restores every record and continues as the previous version did without a restart", () => {
    const book = newBook()
    book.harness.changelog.push(...fixture.changelog)
    book.harness.at(100)
    const report = book.restart()
    expect(report.problems).toEqual([])
    expect(report.skipped).toBe(0)
    expect(book.pendingJoins, "j|r2 and j|r3 wait for their analysis").toBe(2)
    const out = plain(secondLife(book))
    expect(out, "rows and dead letters, the original bytes of the waiting batch element included").toEqual(fixture.expected)
    expect(jobsSummary(book)).toEqual(fixture.jobs)
    const live = liveKeys(book.harness.changelog)
    expect(live.filter((k) => /^(review|join)\|\[/.test(k)), "old per-key index and join records are tombstoned").toEqual([])
    expect(live.filter((k) => k.startsWith("job|")), "the job store keeps its format").toEqual(["job|f", "job|j"])
  })

  it("is what this version's own changelog restores to as well", () => {
    const book = newBook()
    firstLife(book)
    const again = newBook()
    again.harness.changelog.push(...book.harness.changelog)
    again.harness.at(100)
    expect(again.restart().skipped).toBe(0)
    expect(plain(secondLife(again))).toEqual(fixture.expected)
    expect(jobsSummary(again)).toEqual(fixture.jobs)
  })
})
