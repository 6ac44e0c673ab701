/**
 * The public sample replayed through the real topology on the embedded broker must give
 * the results of an independent implementation (test/fixtures/sample/expected.json).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import { ControlMessage, JobAggregate, JoinedRow } from "../../src/review/schema/OutputRecords.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { replay, replayLayer, type ReplayInput, type ReplayResult } from "../../src/app/Replay.ts"
import { random } from "../../src/app/GeneratedReview.ts"
import { countBy, finalAggregates, json, sortKeys, text } from "../support/Outputs.ts"
import { loadExpected, loadSampleInput, sampleTimings } from "../support/Samples.ts"

const runReplay = (input: ReplayInput): Promise<ReplayResult> =>
  Effect.runPromise(
    replay(input, { maxWaitMs: 30_000 }).pipe(
      Effect.provide(replayLayer(AppConfig.layerWith(sampleTimings)))
    )
  )

const records = (result: ReplayResult, topic: string) => result.topics.get(topic) ?? []

/** Deterministic Fisher-Yates shuffle, so a failure can be reproduced from its seed. */
const shuffled = <A>(items: ReadonlyArray<A>, seed: number): Array<A> => {
  const rng = random(seed)
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

describe("replay of the sample in test/fixtures/sample", () => {
  const expected = loadExpected()
  const input = loadSampleInput()
  let result: ReplayResult

  it("finishes every job of the control input", async () => {
    result = await runReplay(input)
    expect(result.completed, "replay hit max-wait before every job finished").toBe(true)
    expect(result.jobs.map((j) => j.jobId).sort()).toEqual(Object.keys(expected.jobs).sort())
  }, 60_000)

  it("produces the expected final aggregate of every done job, every field", () => {
    const aggregates = finalAggregates(records(result, "review-agg-by-job"))
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      if (job.aggregate === undefined) continue
      expect(aggregates.get(jobId), `final aggregate of ${jobId}`).toEqual(sortKeys({ job_id: jobId, ...job.aggregate }))
    }
  })

  it("dead-letters exactly the undecodable inputs, per error type", () => {
    const decodeFailures = countBy(records(result, "review-dlq"), (r) => {
      const type = r.headers["dlq.error.type"]
      return type === "invalid_json" || type === "schema" ? type : undefined
    })
    expect(decodeFailures).toEqual(expected.dlq)
  })

  it("ends each job with the expected terminal control message", () => {
    const control = records(result, "job-control-topic").map(json)
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      const last = control.filter((m) => m.job_id === jobId).at(-1)
      expect(last, `last control message of ${jobId}`).toMatchObject({ step: job.terminal.step, status: job.terminal.status, expected_count: job.expected_count })
      if (job.terminal.actual_count !== undefined) expect(last.actual_count, `actual_count of ${jobId}`).toBe(job.terminal.actual_count)
      if (job.terminal.reason === "data quality") expect(last.error_message, `error_message of ${jobId}`).toMatch(/^data quality/)
      if (job.terminal.status === "done") expect(last.error_message).toBeUndefined()
    }
  })

  it("emits one joined row per review of each done job and dead-letters unmatched sides", () => {
    const rows = records(result, "review-rows")
    const rowKeys = rows.map((r) => text(r.key))
    expect(new Set(rowKeys).size, "a join key was emitted twice").toBe(rowKeys.length)
    const rowsPerJob = countBy(rows, (r) => json(r).job_id)
    const unmatchedPerJob = countBy(records(result, "review-dlq"), (r) =>
      r.headers["dlq.error.type"] === "join_unmatched" ? r.headers["dlq.job_id"] : undefined)
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      if (job.rows !== undefined) expect(rowsPerJob[jobId] ?? 0, `rows of ${jobId}`).toBe(job.rows)
      if (job.join_unmatched !== undefined) expect(unmatchedPerJob[jobId] ?? 0, `join_unmatched of ${jobId}`).toBe(job.join_unmatched)
    }
  })

  it("writes rows keyed job_id|review_id with the transform fields in SPEC order, then summary and sentiment", () => {
    const row = records(result, "review-rows")[0]!
    const value = json(row)
    expect(text(row.key)).toBe(`${value.job_id}|${value.review_id}`)
    expect(Object.keys(value)).toEqual([
      "job_id", "review_id", "product_id", "title", "tag", "review_count", "sales_price", "final_price", "rating",
      "review_date", "review_text", "clean_text", "keywords", "review_help_count", "crawled_at", "is_coupang_trial",
      "is_empty_review", "is_valid_rating", "is_valid_date", "has_content", "is_valid", "invalid_reason", "year", "month",
      "day", "quarter", "yyyymm", "yyyymmdd", "weekday", "summary", "sentiment"
    ])
    expect(["positive", "negative", "neutral"]).toContain(value.sentiment)
  })

  it("writes rows, aggregates and control messages that decode with the output schemas", () => {
    const check = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, topic: string) => {
      const decode = Schema.decodeUnknownResult(schema)
      const out = records(result, topic)
      expect(out.length, `records on ${topic}`).toBeGreaterThan(0)
      for (const r of out) {
        const decoded = decode(json(r))
        if (Result.isFailure(decoded)) expect.fail(`${topic} offset ${r.offset}: ${decoded.failure.message}`)
      }
    }
    check(JoinedRow, "review-rows")
    check(JobAggregate, "review-agg-by-job")
    check(ControlMessage, "job-control-topic")
  })

  it("gives identical aggregates and outcomes when the input lines are shuffled", async () => {
    const reordered = await runReplay({
      transform: shuffled(input.transform, 1),
      analysis: shuffled(input.analysis, 2),
      control: shuffled(input.control, 3)
    })
    expect(reordered.completed).toBe(true)
    expect(finalAggregates(records(reordered, "review-agg-by-job"))).toEqual(finalAggregates(records(result, "review-agg-by-job")))
    const outcome = (r: ReplayResult) => Object.fromEntries(r.jobs.map((j) => [j.jobId, j.stages.ended?.stage + "/" + j.stages.ended?.status]))
    expect(outcome(reordered)).toEqual(outcome(result))
  }, 60_000)
})
