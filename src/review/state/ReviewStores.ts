/**
 * The review task's state stores. All of them share the changelog topic
 * `<APPLICATION_ID>-job-state-changelog` (keys prefixed by store name):
 *   job      job id -> the job (lifecycle, statistics, quality)
 *   review   [job, review] -> index flags while the job runs (dedupe, join split, quality)
 *   join     [job, review] -> a side waiting for its partner (retention: the join gap)
 *   frozen   [job, side, chunk] -> fingerprints of a finished job's counted review ids
 * and `batch-stats`, scratch state of one batch (per-job contributions still to fold in).
 * `review` and `join` are packed by job: one changelog record per job and batch.
 */
import { Schema } from "effect"
import * as SessionJoin from "../../kernel/join/SessionJoin.ts"
import type { KeyValueStore } from "../../kernel/store/KeyValueStore.ts"
import * as StoreKey from "../../kernel/store/StoreKey.ts"
import type { Packing, StoreSpec } from "../../kernel/store/StoreSpec.ts"
import { FingerprintSetSchema, type FingerprintSet } from "../../kernel/state/FingerprintSet.ts"
import * as Source from "../../kernel/source/Source.ts"
import { SourceRefSchema } from "../../kernel/source/SourceRefSchema.ts"
import type { CountedStep, Job } from "../Job.ts"
import { AnalysisRecord } from "../schema/AnalysisRecord.ts"
import { normaliseTransform, TransformRecordInput, type TransformReview } from "../schema/TransformRecord.ts"
import { fastAnalysis, fastTransform } from "../schema/FastPath.ts"
import { heldText, type Held } from "./HeldText.ts"
import { ContributionSchema, type Contribution } from "./BatchContributions.ts"
import { AnalysisStored, JobSchema, TransformStored } from "./JobStateSchema.ts"
import { jobText } from "./JobText.ts"

export const CHANGELOG = "job-state"

export type { Held }
export type Left = Held<TransformReview>
export type Right = Held<AnalysisRecord>

/** The JSON form join sides had before they were held as text (still read at restore). */
const heldJson = <V>(value: Schema.Codec<V, any>): Schema.Codec<Held<V>, any> =>
  Schema.Struct({ value, source: SourceRefSchema }) as unknown as Schema.Codec<Held<V>, any>

export type ReviewKey = StoreKey.StringTuple<2>
export type FrozenKey = readonly [jobId: string, side: CountedStep, chunk: string]

const byJob = (key: { readonly 0: string }) => key[0]
const reviewsOfJob: Packing<ReviewKey> = { member: (key) => key[1], key: (job, review) => [job, review] }
const transformText = heldText(Source.make({ topic: "transform", schema: TransformRecordInput, map: normaliseTransform, fast: fastTransform }).decodeElement)
const analysisText = heldText(Source.make({ topic: "analysis", schema: AnalysisRecord, fast: fastAnalysis }).decodeElement)

export const reviewStoreSpecs = (settings: { readonly windowInactivityMs: number }) => ({
  // Version 2: stage deadlines are on the task's active clock.
  jobs: { name: "job", changelog: CHANGELOG, key: StoreKey.string, value: JobSchema, text: jobText, version: 2, writeOnChange: true } satisfies StoreSpec<string, Job>,
  reviews: {
    name: "review",
    changelog: CHANGELOG,
    key: StoreKey.compactStrings(2),
    value: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0x7fffffff })),
    groupOf: byJob,
    // An entry is written when a review is first seen and again when complete, and goes only with its job.
    packed: { ...reviewsOfJob, keysLeaveWithGroup: true },
    // A million reviews of a running job: flags and ids in typed arrays, off the collected heap.
    offHeap: true
  } satisfies StoreSpec<ReviewKey, number>,
  joins: SessionJoin.spec<ReviewKey, Left, Right>({
    name: "join",
    changelog: CHANGELOG,
    key: StoreKey.compactStrings(2),
    left: heldJson(TransformStored),
    right: heldJson(AnalysisStored),
    leftText: transformText,
    rightText: analysisText,
    gapMs: settings.windowInactivityMs,
    groupOf: byJob,
    packed: reviewsOfJob
  }),
  frozen: {
    name: "frozen",
    changelog: CHANGELOG,
    key: StoreKey.strings(3) as unknown as StoreKey.StoreKey<FrozenKey>,
    value: FingerprintSetSchema,
    groupOf: byJob
  } satisfies StoreSpec<FrozenKey, FingerprintSet>,
  batchStats: { name: "batch-stats", key: StoreKey.string, value: ContributionSchema, logged: false } satisfies StoreSpec<string, Contribution>
})

export type ReviewStoreSpecs = ReturnType<typeof reviewStoreSpecs>

export interface ReviewStores {
  readonly jobs: KeyValueStore<string, Job>
  readonly reviews: KeyValueStore<ReviewKey, number>
  readonly joins: KeyValueStore<ReviewKey, SessionJoin.Buffered<Left, Right>>
  readonly frozen: KeyValueStore<FrozenKey, FingerprintSet>
  readonly batchStats: KeyValueStore<string, Contribution>
}
