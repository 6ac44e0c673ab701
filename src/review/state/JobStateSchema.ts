/**
 * Schemas of what the review task keeps in its stores: a job (lifecycle, statistics,
 * data quality) and a review waiting for its join partner. They are checked against the
 * domain types, so a field added to a type and forgotten here does not compile.
 */
import { Schema } from "effect"
import type { Job } from "../Job.ts"
import { Sentiments } from "../schema/Lenient.ts"
import { Statuses, Steps } from "../schema/ControlRecord.ts"
import { TransformReview } from "../schema/TransformRecord.ts"
import type { AnalysisRecord } from "../schema/AnalysisRecord.ts"
import type { JobStats } from "../stats/JobAggregate.ts"

const Num = Schema.Number
const Counts = Schema.Array(Num)
const Step = Schema.Literals(Steps)

const StageState = Schema.Struct({
  status: Schema.Literals(["waiting", "running", "done", "failed", "timeout"]),
  startedAt: Schema.UndefinedOr(Num),
  deadline: Schema.UndefinedOr(Num),
  endedAt: Schema.UndefinedOr(Num),
  message: Schema.UndefinedOr(Schema.String)
})

const Stages = Schema.Struct({
  order: Schema.Array(Step),
  states: Schema.Record(Step, StageState),
  ended: Schema.UndefinedOr(Schema.Struct({
    stage: Step,
    status: Schema.Literals(Statuses),
    message: Schema.UndefinedOr(Schema.String),
    at: Num
  }))
})

const Rating = Schema.Struct({ rated: Num, sumMicros: Num, buckets: Counts })
const TagCounts = Schema.ReadonlyMap(Schema.String, Num)

export const JobStatsSchema: Schema.Codec<JobStats, any> = Schema.Struct({
  transform: Schema.Struct({
    total: Num,
    valid: Num,
    empty: Num,
    trial: Num,
    ratingAll: Rating,
    ratingNonEmpty: Rating,
    ratingTrial: Rating,
    ratingRegular: Rating,
    ratingEmpty: Rating,
    keywords: Schema.ReadonlyMap(Schema.String, Schema.Struct({ all: TagCounts, trial: TagCounts, regular: TagCounts }))
  }),
  analyzed: Num,
  sentiment: Schema.Struct({ all: Counts, trial: Counts, regular: Counts })
})

const Quality = Schema.Struct({ invalid: Num, duplicates: Num, firstInvalid: Schema.UndefinedOr(Schema.String) })

export const JobSchema: Schema.Codec<Job, any> = Schema.Struct({
  jobId: Schema.String,
  firstSeenAt: Num,
  traceparent: Schema.String,
  expected: Schema.UndefinedOr(Num),
  stages: Stages,
  stats: JobStatsSchema,
  quality: Schema.Struct({ transform: Quality, analysis: Quality }),
  upstreamFailure: Schema.UndefinedOr(Schema.Struct({
    step: Step,
    status: Schema.Literals(["failed", "timeout"]),
    message: Schema.String
  })),
  unpublished: Schema.Boolean,
  finishedAt: Schema.UndefinedOr(Num)
})

/** The analysis record as decoded (normalised), strict. */
export const AnalysisStored: Schema.Codec<AnalysisRecord, any> = Schema.Struct({
  job_id: Schema.String,
  review_id: Schema.String,
  sentiment: Schema.Literals(Sentiments),
  summary: Schema.optionalKey(Schema.NullOr(Schema.String)),
  is_coupang_trial: Schema.optionalKey(Schema.NullOr(Schema.Literals([0, 1])))
})

export const TransformStored = TransformReview
