/**
 * The review generator: the same seed gives the same job, its messages use every lenient
 * form of SPEC 3, and replaying its jobs through the real pipeline ends them the way its
 * truth says, with the planted faults dead-lettered and nothing else lost.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { jobOutcome } from "../../src/app/ReplayReport.ts"
import { replay, replayLayer, type ReplayResult } from "../../src/app/Replay.ts"
import { generateJob, generateJobLines, replayInputOf, type GeneratedJob, type GeneratorOptions } from "../../src/app/ReviewGenerator.ts"
import { countBy, finalAggregates, json } from "../support/Outputs.ts"
import { sampleTimings } from "../support/Samples.ts"

const clean: GeneratorOptions = { jobId: "gen-clean", reviews: 250, seed: 101 }
const batched: GeneratorOptions = { jobId: "gen-batched", reviews: 400, seed: 202, batchSize: 30, duplicateShare: 0.1, invalidJson: 3 }
const bad: GeneratorOptions = { jobId: "gen-bad", reviews: 120, seed: 303, batchSize: 10, badShare: 0.05 }
const stalled: GeneratorOptions = { jobId: "gen-stalled", reviews: 80, seed: 404, missingAnalysis: 4 }
const nothing: GeneratorOptions = { jobId: "gen-nothing", reviews: 0, seed: 505 }

const transformTopic = "realtime-review-transform-topic"
const analysisTopic = "realtime-review-analysis-topic"

const parsed = (line: string): any => {
  try {
    return JSON.parse(line)
  } catch {
    return undefined // a planted invalid_json line
  }
}

/** Every record of a topic's lines, batch elements included, with the envelope they came in (if any). */
const elements = (lines: ReadonlyArray<string>, field: string) =>
  lines.flatMap((line) => {
    const value = parsed(line)
    if (value === undefined) return []
    return Array.isArray(value[field]) ? value[field].map((e: any) => ({ e, envelope: value })) : [{ e: value, envelope: undefined }]
  })

describe("generateJob", () => {
  it("gives the same job for the same seed and another for another seed", () => {
    expect(generateJob(batched)).toEqual(generateJob(batched))
    expect(generateJob({ ...batched, seed: 203 }).transform).not.toEqual(generateJob(batched).transform)
  })

  it("streams the same lines and truth as the collected job", () => {
    const lines = generateJobLines(bad)
    const streamed: Array<string> = []
    let step = lines.next()
    for (; step.done !== true; step = lines.next()) streamed.push(step.value.value)
    const job = generateJob(bad)
    expect(streamed.sort()).toEqual([...job.control, ...job.transform, ...job.analysis].sort())
    expect(step.value).toEqual(job.truth)
  })

  it("plants exactly the requested number of missing analysis records", () => {
    const job = generateJob(stalled)
    expect(job.truth.analyzed).toBe(76)
    expect(new Set(elements(job.analysis, "results").map(({ e }) => e.review_id)).size).toBe(76)
  })

  it("writes every lenient input form of SPEC 3", () => {
    const job = generateJob({ ...batched, reviews: 1000, emptyShare: 0.2, nullRatingShare: 0.05 })
    const transforms = elements(job.transform, "reviews")
    const t = transforms.map(({ e }) => e)
    const analyses = elements(job.analysis, "results").map(({ e }) => e)
    const forms: Record<string, boolean> = {
      "batch envelope": transforms.some(({ envelope }) => envelope !== undefined),
      "single record": transforms.some(({ envelope }) => envelope === undefined),
      "element inheriting job_id": transforms.some(({ e, envelope }) => envelope !== undefined && e.job_id === undefined),
      "category instead of tag": t.some((e) => "category" in e && !("tag" in e)),
      "Spark booleans": t.some((e) => e.is_valid === true || e.is_valid === false),
      "0|1 flags": t.some((e) => e.is_valid === 0 || e.is_valid === 1),
      "flags left to derive": t.some((e) => !("is_valid" in e)),
      "null rating": t.some((e) => e.rating === null),
      "numeric string rating": t.some((e) => typeof e.rating === "string" && /^\d/.test(e.rating)),
      "numeric string price": t.some((e) => typeof e.final_price === "string"),
      "keywords object": t.some((e) => typeof e.keywords === "object" && e.keywords !== null),
      "keyword tag array": t.some((e) => typeof e.keywords === "object" && Object.values(e.keywords ?? {}).some(Array.isArray)),
      "keywords JSON string": t.some((e) => typeof e.keywords === "string" && e.keywords.startsWith("{")),
      "keywords absent": t.some((e) => !("keywords" in e)),
      "trial review": t.some((e) => e.review_text?.startsWith("쿠팡체험단")),
      "empty review": t.some((e) => e.review_text === "" || e.review_text === null),
      "Korean sentiment": ["긍정", "부정", "중립"].every((w) => analyses.some((a) => a.sentiment === w)),
      "English sentiment, any case": analyses.some((a) => /^\s*[A-Z]/.test(a.sentiment ?? "")),
      "analysis without trial flag": analyses.some((a) => !("is_coupang_trial" in a)),
      "collector completed_at": job.control.every((c) => JSON.parse(c).completed_at !== undefined)
    }
    expect(Object.entries(forms).filter(([, seen]) => !seen).map(([form]) => form), "forms never generated").toEqual([])
    expect(t.every((e) => /[가-힣]/.test(e.title)), "product titles are Korean").toBe(true)
  })
})

describe("generated jobs replayed through the pipeline", () => {
  const jobs: Record<string, GeneratedJob> = Object.fromEntries(
    [clean, batched, bad, stalled, nothing].map((o) => [o.jobId, generateJob(o)])
  )
  const truth = (o: GeneratorOptions) => jobs[o.jobId]!.truth
  let result: ReplayResult
  const records = (topic: string) => result.topics.get(topic) ?? []
  const dlq = (type: string, jobId: string, sourceTopic?: string) =>
    records("review-dlq").filter((r) =>
      r.headers["dlq.error.type"] === type && r.headers["dlq.job_id"] === jobId &&
      (sourceTopic === undefined || r.headers["dlq.source.topic"] === sourceTopic)).length
  const rows = (jobId: string) => records("review-rows").filter((r) => json(r).job_id === jobId).length

  beforeAll(async () => {
    result = await Effect.runPromise(
      replay(replayInputOf(Object.values(jobs)), { maxWaitMs: 30_000 }).pipe(
        Effect.provide(replayLayer(AppConfig.layerWith(sampleTimings)))
      )
    )
  }, 60_000)

  it("ends every job the way the generator planned", () => {
    expect(result.completed, "replay hit max-wait before every job finished").toBe(true)
    const outcomes = Object.fromEntries(result.jobs.map((j) => [j.jobId, jobOutcome(j)]))
    expect(outcomes).toEqual({
      "gen-clean": "done",
      "gen-batched": "done",
      "gen-bad": "transform failed",
      "gen-stalled": "analysis timeout",
      "gen-nothing": "done"
    })
    for (const job of Object.values(jobs)) {
      const o = job.truth.outcome
      expect(outcomes[job.truth.jobId], `truth.outcome of ${job.truth.jobId}`).toBe(o.status === "done" ? "done" : `${o.step} ${o.status}`)
    }
  })

  it("fails the job with bad records on data quality, and times out the one missing analysis records", () => {
    const control = records("job-control-topic").map(json)
    const last = (jobId: string) => control.filter((m) => m.job_id === jobId).at(-1)
    expect(last("gen-bad")).toMatchObject({ step: "transform", status: "failed", expected_count: 120 })
    expect(truth(bad).invalid.transform).toBe(6)
    expect(last("gen-bad").error_message).toMatch(/^data quality: 6 invalid records \(first: /)
    expect(last("gen-stalled")).toMatchObject({ step: "analysis", status: "timeout", expected_count: 80, actual_count: truth(stalled).analyzed })
  })

  it("publishes for each done job the final aggregate its truth predicts", () => {
    const aggregates = finalAggregates(records("review-agg-by-job")) as Map<string, any>
    for (const options of [clean, batched, nothing]) {
      const t = truth(options)
      const a = aggregates.get(options.jobId)
      expect(a, `final aggregate of ${options.jobId}`).toBeDefined()
      expect({
        total_reviews: a.transform_stats.total_reviews,
        valid_reviews: a.transform_stats.valid_reviews,
        empty_reviews: a.transform_stats.empty_reviews,
        coupang_trial_reviews: a.transform_stats.coupang_trial_reviews,
        avg_rating: a.transform_stats.avg_rating,
        total_analyzed: a.analysis_stats.total_analyzed,
        sentiment: [a.analysis_stats.all_sentiment.positive, a.analysis_stats.all_sentiment.negative, a.analysis_stats.all_sentiment.neutral]
      }, options.jobId).toEqual({
        total_reviews: t.transform,
        valid_reviews: t.valid,
        empty_reviews: t.empty,
        coupang_trial_reviews: t.trial,
        avg_rating: t.rated === 0 ? 0 : Math.floor((t.ratingSum / t.rated) * 100 + 0.5) / 100,
        total_analyzed: t.analyzed,
        sentiment: [t.sentiment.positive, t.sentiment.negative, t.sentiment.neutral]
      })
      expect(rows(options.jobId), `joined rows of ${options.jobId}`).toBe(t.expected)
    }
    expect(truth(clean).transform).toBe(250)
    expect(truth(batched).analyzed).toBe(400)
  })

  it("counts the planted duplicates and invalid records and no others", () => {
    for (const job of result.jobs) {
      const t = jobs[job.jobId]!.truth
      expect([job.quality.transform.duplicates, job.quality.analysis.duplicates], `duplicates of ${job.jobId}`)
        .toEqual([t.duplicates.transform, t.duplicates.analysis])
      expect([job.quality.transform.invalid, job.quality.analysis.invalid], `invalid records of ${job.jobId}`)
        .toEqual([t.invalid.transform, t.invalid.analysis])
    }
    expect(truth(batched).duplicates.transform + truth(batched).duplicates.analysis).toBeGreaterThan(0)
  })

  it("dead-letters exactly the planted decoding faults, per error type", () => {
    const planted = Object.values(jobs).reduce((n, j) => n + j.truth.dlq.invalid_json, 0)
    const byType = countBy(records("review-dlq"), (r) => r.headers["dlq.error.type"])
    expect(byType["invalid_json"] ?? 0, "invalid_json dead letters").toBe(planted)
    expect(planted).toBe(3)
    for (const job of Object.values(jobs)) {
      expect(dlq("schema", job.truth.jobId), `schema dead letters of ${job.truth.jobId}`).toBe(job.truth.dlq.schema)
    }
    expect(truth(bad).dlq.schema).toBeGreaterThan(0)
    expect(byType["processing"], "processing failures").toBeUndefined()
  })

  it("accounts for every usable record of the failed and timed-out jobs: a row, join_unmatched or late_record", () => {
    for (const options of [bad, stalled]) {
      const t = truth(options)
      const joined = rows(options.jobId)
      expect(joined + dlq("join_unmatched", options.jobId, transformTopic), `transform side of ${options.jobId}`).toBe(t.transform)
      expect(
        joined + dlq("join_unmatched", options.jobId, analysisTopic) + dlq("late_record", options.jobId, analysisTopic),
        `analysis side of ${options.jobId}`
      ).toBe(t.analyzed)
    }
    expect(dlq("join_unmatched", "gen-stalled", transformTopic), "transform records never analysed").toBe(4)
  })
})
