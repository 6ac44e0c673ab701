/**
 * The wire-shaped replay (bench/WireShapeReplay.ts) on a tiny size: every record handled,
 * in several events, many jobs each writing snapshot and index records, and bad settings
 * refused by name. Timings are never asserted.
 */
import { expect, it } from "vitest"
import { runBenchScript } from "../support/BenchScript.ts"

const run = (args: ReadonlyArray<string>) => runBenchScript("WireShapeReplay.ts", args, 60_000)

it("--json: every record of many jobs, spread over partitions, in several events", async () => {
  const ran = await run(["many-jobs", "2000", "--partitions", "8", "--per-partition", "20", "--json"])
  expect(ran.code, `exit code; stderr:\n${ran.stderr}`).toBe(0)
  const doc = JSON.parse(ran.stdout) as {
    readonly records: number
    readonly events: number
    readonly cpuMicrosPerRecord: number
    readonly changelog: { readonly recordsPerReview: number; readonly byStore: Record<string, { readonly recordsPerReview: number }> }
  }
  expect(doc.records, "two records a review").toBe(4000)
  // 2,000 records a topic over 8 partitions of about 250, 20 a partition an event: about 13 events.
  expect(doc.events).toBeGreaterThan(10)
  expect(doc.cpuMicrosPerRecord).toBeGreaterThan(0)
  // Ten jobs of 200 reviews, some touched by more than one event: a snapshot and an index chunk per job and event.
  for (const store of ["job", "review"]) {
    expect(doc.changelog.byStore[store]!.recordsPerReview * 2000, `${store} records: more than one per job`).toBeGreaterThan(10)
  }
}, 70_000)

it("refuses a bad setting by name", async () => {
  const ran = await run(["many-jobs", "2000", "--per-partition", "0"])
  expect(ran.code).toBe(1)
  expect(ran.stderr).toContain(`--per-partition must be a positive integer, got "0"`)
  const unknown = await run(["some-jobs", "2000"])
  expect(unknown.code).toBe(1)
  expect(unknown.stderr).toContain(`the case must be one of one-job, many-jobs, envelopes, got "some-jobs"`)
}, 70_000)
