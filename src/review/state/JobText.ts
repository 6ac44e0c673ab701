/**
 * The changelog text of a job: the same fields as the job's JSON form (JobStateSchema),
 * written positionally, as nested JSON arrays without field names.
 *
 * Why: a job's snapshot is written whenever a batch changes it, and with many jobs
 * running at once each is snapshotted a dozen times or more. Field names were half of
 * each snapshot. Positions are checked on the way back in (a Schema of the tuple), so a
 * damaged record is reported at restore, never half-read. Records in the JSON form
 * still restore (the store reads both).
 *
 * Layout (null for an absent value):
 *   [jobId, firstSeenAt, traceparent, expected, stages, stats, quality, upstreamFailure, unpublished, finishedAt]
 *   stages  [[stage, status, startedAt, deadline, endedAt, message]..., ended]   (in stage order; ended: [stage, status, message, at])
 *   stats   [total, valid, empty, trial, ratingAll, ratingNonEmpty, ratingTrial, ratingRegular, ratingEmpty,
 *            keywords, analyzed, sentimentAll, sentimentTrial, sentimentRegular]
 *   rating  [rated, sumMicros, buckets]
 *   keywords [[keyword, allTags, trialTags, regularTags]...] with tags [[tag, count]...] in map order
 *   quality [[invalid, duplicates, firstInvalid] for transform, then for analysis]
 */
import { Result, Schema } from "effect"
import type { StageState, Stages } from "../../kernel/lifecycle/OrderedStages.ts"
import { issueMessage } from "../../kernel/source/SchemaIssueMessage.ts"
import type { ValueText } from "../../kernel/store/StoreSpec.ts"
import type { Job, StepQuality } from "../Job.ts"
import { Statuses, Steps, type Step } from "../schema/ControlRecord.ts"
import type { KeywordStats } from "../stats/KeywordStats.ts"
import type { RatingStats } from "../stats/RatingStats.ts"

const Num = Schema.Number
const OrNull = <S extends Schema.Top>(s: S) => Schema.NullOr(s)
const StepName = Schema.Literals(Steps)
const StageRow = Schema.Tuple([
  StepName,
  Schema.Literals(["waiting", "running", "done", "failed", "timeout"]),
  OrNull(Num),
  OrNull(Num),
  OrNull(Num),
  OrNull(Schema.String)
])
const Ended = Schema.Tuple([StepName, Schema.Literals(Statuses), OrNull(Schema.String), Num])
const StagesRow = Schema.TupleWithRest(Schema.Tuple([OrNull(Ended)]), [StageRow])
const Rating = Schema.Tuple([Num, Num, Schema.Array(Num)])
const Tags = Schema.Array(Schema.Tuple([Schema.String, Num]))
const Keyword = Schema.Tuple([Schema.String, Tags, Tags, Tags])
const Stats = Schema.Tuple([
  Num, Num, Num, Num,
  Rating, Rating, Rating, Rating, Rating,
  Schema.Array(Keyword),
  Num,
  Schema.Array(Num), Schema.Array(Num), Schema.Array(Num)
])
const Quality = Schema.Tuple([Num, Num, OrNull(Schema.String)])
const Failure = Schema.Tuple([StepName, Schema.Literals(["failed", "timeout"]), Schema.String])
const JobRow = Schema.Tuple([
  Schema.String,
  Num,
  Schema.String,
  OrNull(Num),
  StagesRow,
  Stats,
  Schema.Tuple([Quality, Quality]),
  OrNull(Failure),
  Schema.Boolean,
  OrNull(Num)
])
type JobRow = typeof JobRow.Type

const decodeRow = Schema.decodeUnknownResult(JobRow)

const orNull = <A>(a: A | undefined): A | null => (a === undefined ? null : a)
const orUndefined = <A>(a: A | null): A | undefined => (a === null ? undefined : a)

const ratingRow = (r: RatingStats) => [r.rated, r.sumMicros, r.buckets] as const
const ratingOf = ([rated, sumMicros, buckets]: typeof Rating.Type): RatingStats => ({ rated, sumMicros, buckets })

const tagsRow = (tags: ReadonlyMap<string, number>) => [...tags]
const keywordsRow = (keywords: KeywordStats) =>
  [...keywords].map(([keyword, t]) => [keyword, tagsRow(t.all), tagsRow(t.trial), tagsRow(t.regular)] as const)
const keywordsOf = (rows: typeof Stats.Type[9]): KeywordStats =>
  new Map(rows.map(([keyword, all, trial, regular]) => [keyword, { all: new Map(all), trial: new Map(trial), regular: new Map(regular) }]))

const qualityRow = (q: StepQuality) => [q.invalid, q.duplicates, orNull(q.firstInvalid)] as const
const qualityOf = ([invalid, duplicates, firstInvalid]: typeof Quality.Type): StepQuality =>
  ({ invalid, duplicates, firstInvalid: orUndefined(firstInvalid) })

const stagesRow = (stages: Stages<Step>) => {
  const e = stages.ended
  const ended = e === undefined ? null : [e.stage, e.status, orNull(e.message), e.at] as const
  return [ended, ...stages.order.map((stage) => {
    const s = stages.states[stage]
    return [stage, s.status, orNull(s.startedAt), orNull(s.deadline), orNull(s.endedAt), orNull(s.message)] as const
  })] as const
}

const stagesOf = ([ended, ...rows]: typeof StagesRow.Type): Result.Result<Stages<Step>, string> => {
  const order = rows.map((row) => row[0])
  if (new Set(order).size !== order.length || order.length !== Steps.length) {
    return Result.fail(`stages must list each of ${Steps.join(", ")} once, found ${order.join(", ")}`)
  }
  const states = {} as Record<Step, StageState>
  for (const [stage, status, startedAt, deadline, endedAt, message] of rows) {
    states[stage] = { status, startedAt: orUndefined(startedAt), deadline: orUndefined(deadline), endedAt: orUndefined(endedAt), message: orUndefined(message) }
  }
  return Result.succeed({
    order,
    states,
    ended: ended === null ? undefined : { stage: ended[0], status: ended[1], message: orUndefined(ended[2]), at: ended[3] }
  })
}

const toRow = (job: Job) => {
  const t = job.stats.transform
  const s = job.stats.sentiment
  const f = job.upstreamFailure
  return [
    job.jobId,
    job.firstSeenAt,
    job.traceparent,
    orNull(job.expected),
    stagesRow(job.stages),
    [
      t.total, t.valid, t.empty, t.trial,
      ratingRow(t.ratingAll), ratingRow(t.ratingNonEmpty), ratingRow(t.ratingTrial), ratingRow(t.ratingRegular), ratingRow(t.ratingEmpty),
      keywordsRow(t.keywords),
      job.stats.analyzed,
      s.all, s.trial, s.regular
    ],
    [qualityRow(job.quality.transform), qualityRow(job.quality.analysis)],
    f === undefined ? null : [f.step, f.status, f.message],
    job.unpublished,
    orNull(job.finishedAt)
  ] as const satisfies JobRow
}

const fromRow = (row: JobRow): Result.Result<Job, string> => {
  const [jobId, firstSeenAt, traceparent, expected, stagesRowIn, stats, [transformQuality, analysisQuality], failure, unpublished, finishedAt] = row
  const [total, valid, empty, trial, ratingAll, ratingNonEmpty, ratingTrial, ratingRegular, ratingEmpty, keywords, analyzed, all, trialSentiment, regular] = stats
  return Result.map(stagesOf(stagesRowIn), (stages) => ({
    jobId,
    firstSeenAt,
    traceparent,
    expected: orUndefined(expected),
    stages,
    stats: {
      transform: {
        total, valid, empty, trial,
        ratingAll: ratingOf(ratingAll),
        ratingNonEmpty: ratingOf(ratingNonEmpty),
        ratingTrial: ratingOf(ratingTrial),
        ratingRegular: ratingOf(ratingRegular),
        ratingEmpty: ratingOf(ratingEmpty),
        keywords: keywordsOf(keywords)
      },
      analyzed,
      sentiment: { all, trial: trialSentiment, regular }
    },
    quality: { transform: qualityOf(transformQuality), analysis: qualityOf(analysisQuality) },
    upstreamFailure: failure === null ? undefined : { step: failure[0], status: failure[1], message: failure[2] },
    unpublished,
    finishedAt: orUndefined(finishedAt)
  }))
}

export const jobText: ValueText<Job> = {
  encode: (job) => JSON.stringify(toRow(job)),
  decode: (text) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      return Result.fail(`job is not JSON: ${(e as Error).message}`)
    }
    const row = decodeRow(parsed)
    return Result.isFailure(row) ? Result.fail(`job: ${issueMessage(row.failure.issue)}`) : fromRow(row.success)
  }
}
