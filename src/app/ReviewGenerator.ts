/**
 * Deterministic generator of realistic jobs: the messages the collector, the Spark
 * transform and the LLM analysis stages write for one crawl, in every lenient form of
 * SPEC 3, with the faults asked for planted, plus the truth a correct aggregator reaches.
 */
import { garbled, makeReview, random, spoilers, type JobContext, type Json, type Sentiment } from "./GeneratedReview.ts"
import { products } from "./KoreanText.ts"
import type { ReplayInput } from "./Replay.ts"

export interface GeneratorOptions {
  readonly jobId: string
  readonly reviews: number
  readonly seed: number
  /** Share of non-empty reviews written by trial reviewers (text starts with 쿠팡체험단). Default 0.15. */
  readonly trialShare?: number
  /** Share of reviews with no text. Default 0.12. */
  readonly emptyShare?: number
  /** Share of reviews with a null rating. Default 0.03. */
  readonly nullRatingShare?: number
  /**
   * Share of reviews whose transform record cannot be decoded (rating "다섯", keywords
   * of the wrong shape, ...): the job fails on data quality. Each such review's good
   * analysis record is followed by a garbled re-send (unknown sentiment), dead-lettered
   * but not counted against the job.
   */
  readonly badShare?: number
  /** Share of reviews whose transform record, and separately whose analysis record, is sent twice. */
  readonly duplicateShare?: number
  /** 0: one record per message; else batch envelopes of this size, some chunks still sent record by record. */
  readonly batchSize?: number
  /** Number of reviews with no analysis record, so the analysis step times out. */
  readonly missingAnalysis?: number
  /** Number of truncated (not JSON) lines among the inputs; they cannot be attributed to the job. */
  readonly invalidJson?: number
}

export type InputTopic = "transform" | "analysis" | "control"

export interface GeneratedLine {
  readonly topic: InputTopic
  readonly value: string
}

/** What the aggregator must conclude for the job. Counts are of distinct usable records. */
export interface JobTruth {
  readonly jobId: string
  readonly expected: number
  readonly transform: number
  readonly analyzed: number
  readonly valid: number
  readonly empty: number
  readonly trial: number
  /** Reviews with a rating in 1..5, and the sum of those ratings. */
  readonly rated: number
  readonly ratingSum: number
  readonly sentiment: Readonly<Record<Sentiment, number>>
  readonly duplicates: Readonly<Record<"transform" | "analysis", number>>
  /** Distinct unusable records counted against the job (SPEC 5.4). */
  readonly invalid: Readonly<Record<"transform" | "analysis", number>>
  /** Dead letters planted by decoding faults, per `dlq.error.type`. */
  readonly dlq: Readonly<Record<"invalid_json" | "schema", number>>
  readonly messages: Readonly<Record<InputTopic, number>>
  readonly outcome: { readonly step: "transform" | "analysis" | "aggregation"; readonly status: "done" | "failed" | "timeout" }
}

/** JobTruth while it is being counted. */
type Tally = { -readonly [K in keyof JobTruth]: JobTruth[K] extends number | string ? JobTruth[K] : { -readonly [F in keyof JobTruth[K]]: JobTruth[K][F] } }

export interface GeneratedJob {
  readonly transform: ReadonlyArray<string>
  readonly analysis: ReadonlyArray<string>
  readonly control: ReadonlyArray<string>
  readonly truth: JobTruth
}

/** Spreads `share * n` picks evenly over 0..n-1 from a random phase: exact counts, O(1) memory. */
const spaced = (i: number, share: number, phase: number): boolean =>
  share > 0 && Math.floor((i + 1) * share + phase) > Math.floor(i * share + phase)

/** Streams a job's messages: the collector's first, then chunk by chunk. Memory is O(batchSize). */
export function* generateJobLines(options: GeneratorOptions): Generator<GeneratedLine, JobTruth, undefined> {
  const r = random(options.seed)
  const n = Math.max(0, Math.floor(options.reviews))
  const batchSize = options.batchSize ?? 0
  const badShare = options.badShare ?? 0
  const duplicateShare = options.duplicateShare ?? 0
  const missingShare = n === 0 ? 0 : Math.min(n, options.missingAnalysis ?? 0) / n
  const invalidJsonShare = n === 0 ? 0 : Math.min(n, options.invalidJson ?? 0) / n
  const phase = { bad: r.next(), missing: r.next(), json: r.next() }
  const job: JobContext = {
    jobId: options.jobId,
    product: r.pick(products),
    productId: `P${1000 + r.int(9000)}`,
    productReviews: n + r.int(5000),
    idWidth: Math.max(5, String(n).length),
    trialShare: options.trialShare ?? 0.15,
    emptyShare: options.emptyShare ?? 0.12,
    nullRatingShare: options.nullRatingShare ?? 0.03
  }
  const truth: Tally = {
    jobId: options.jobId, expected: n, transform: 0, analyzed: 0, valid: 0, empty: 0, trial: 0, rated: 0, ratingSum: 0,
    sentiment: { positive: 0, negative: 0, neutral: 0 },
    duplicates: { transform: 0, analysis: 0 },
    invalid: { transform: 0, analysis: 0 },
    dlq: { invalid_json: 0, schema: 0 },
    messages: { transform: 0, analysis: 0, control: 1 },
    outcome: { step: "aggregation", status: "done" }
  }
  yield {
    topic: "control",
    value: JSON.stringify({ job_id: job.jobId, status: "done", step: "collection", expected_count: n, completed_at: "2026-11-24T14:00:00.000000+09:00" })
  }

  /** One chunk as a batch envelope, or (unbatched, or now and then) record by record. */
  function* emit(topic: "transform" | "analysis", field: string, records: ReadonlyArray<Json>): Generator<GeneratedLine> {
    if (records.length === 0) return
    if (batchSize === 0 || r.chance(0.2)) {
      for (const record of records) yield { topic, value: JSON.stringify(record) }
      truth.messages[topic] += records.length
      return
    }
    const inherit = r.chance(0.5)
    const elements = inherit ? records.map(({ job_id: _jobId, ...rest }) => rest) : records
    truth.messages[topic]++
    yield { topic, value: JSON.stringify({ job_id: job.jobId, [field]: elements }) }
  }

  let bad = 0
  let missing = 0
  for (let start = 0; start < n; start += Math.max(1, batchSize)) {
    const end = Math.min(n, start + Math.max(1, batchSize))
    const transforms: Array<Json> = []
    const analyses: Array<Json> = []
    const resent: Array<GeneratedLine> = []
    for (let i = start; i < end; i++) {
      const review = makeReview(r, job, i)
      const isBad = spaced(i, badShare, phase.bad)
      if (isBad) {
        spoilers[bad % spoilers.length]!(review.transform)
        truth.invalid.transform++
        truth.dlq.schema++
      } else {
        const f = review.flags
        truth.transform++
        if (f.valid) truth.valid++
        if (f.empty) truth.empty++
        if (f.trial) truth.trial++
        if (f.rating !== null && f.rating >= 1 && f.rating <= 5) {
          truth.rated++
          truth.ratingSum += f.rating
        }
        if (r.chance(duplicateShare)) {
          truth.duplicates.transform++
          resent.push({ topic: "transform", value: JSON.stringify(review.transform) })
        }
      }
      transforms.push(review.transform)
      if (spaced(i, missingShare, phase.missing)) {
        missing++
      } else {
        truth.analyzed++
        truth.sentiment[review.sentiment]++
        analyses.push(review.analysis)
        // The garbled re-send follows its good record, so it is never counted against the job.
        if (isBad) {
          truth.dlq.schema++
          analyses.push(garbled(review.analysis, bad))
        } else if (r.chance(duplicateShare)) {
          truth.duplicates.analysis++
          resent.push({ topic: "analysis", value: JSON.stringify(review.analysis) })
        }
      }
      if (isBad) bad++
      if (spaced(i, invalidJsonShare, phase.json)) {
        const whole = JSON.stringify(truth.dlq.invalid_json % 2 === 0 ? review.transform : review.analysis)
        resent.push({ topic: truth.dlq.invalid_json % 2 === 0 ? "transform" : "analysis", value: whole.slice(0, whole.length >> 1) })
        truth.dlq.invalid_json++
      }
    }
    yield* emit("transform", "reviews", transforms)
    yield* emit("analysis", "results", analyses)
    for (const line of resent) {
      truth.messages[line.topic]++
      yield line
    }
  }
  truth.outcome = bad > 0
    ? { step: "transform", status: "failed" }
    : missing > 0 ? { step: "analysis", status: "timeout" } : { step: "aggregation", status: "done" }
  return truth
}

export const generateJob = (options: GeneratorOptions): GeneratedJob => {
  const lines: Record<InputTopic, Array<string>> = { transform: [], analysis: [], control: [] }
  const stream = generateJobLines(options)
  for (let step = stream.next(); ; step = stream.next()) {
    if (step.done === true) return { ...lines, truth: step.value }
    lines[step.value.topic].push(step.value.value)
  }
}

/** Several generated jobs as one replay input (UTF-8 bytes per line). */
export const replayInputOf = (jobs: ReadonlyArray<GeneratedJob>): ReplayInput => {
  const utf8 = new TextEncoder()
  const encode = (topic: InputTopic) => jobs.flatMap((j) => j[topic].map((line) => utf8.encode(line)))
  return { transform: encode("transform"), analysis: encode("analysis"), control: encode("control") }
}
