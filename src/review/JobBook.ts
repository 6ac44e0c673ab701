/**
 * The aggregation core: applies decoded records to per-job state, joins the two sides,
 * runs the lifecycle rules and publishes what they decide. Synchronous and
 * deterministic given the task's clock; all its state is in the task's stores, so the
 * runtime persists it, restores it and undoes a record that fails part-way.
 *
 * Within a batch, each counted record leaves a small contribution (the `batch-stats`
 * scratch store); at the end of the batch they are folded in mutable counters and each
 * job's immutable stats are combined with the result once.
 */
import { SessionJoin, type Unmatched } from "../kernel/join/SessionJoin.ts"
import type { TaskContext } from "../kernel/runtime/Task.ts"
import type { DeadLetterReason, SourceRef } from "../kernel/source/DeadLetter.ts"
import type { Element, Rejected } from "../kernel/source/Source.ts"
import { isFinished, newJob, withQuality, type CountedStep, type Job } from "./Job.ts"
import { evaluate } from "./JobLifecycle.ts"
import { publishAggregate, publishDecision, publishRow, type JobSinks } from "./JobOutputs.ts"
import { joinRow } from "./JoinedRow.ts"
import { Flags, has, IndexFreezer, sentimentOf, withSentiment } from "./ReviewIndex.ts"
import * as ReviewEvent from "./ReviewEvent.ts"
import { readableId } from "./ReviewSources.ts"
import type { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import type { ControlRecordInput } from "./schema/ControlRecord.ts"
import type { TransformReview } from "./schema/TransformRecord.ts"
import type { Left, Right, ReviewKey, ReviewStores } from "./state/ReviewStores.ts"
import { fold } from "./state/BatchContributions.ts"
import type { Sentiment } from "./schema/Lenient.ts"
import { JobStats } from "./stats/JobAggregate.ts"

export interface JobBookSettings {
  readonly timeoutMs: number
  readonly windowInactivityMs: number
  readonly publishIntervalMs: number
  readonly jobRetentionMs: number
}

type Ctx = TaskContext<ReviewEvent.ReviewEvent>

/** Starts a job's trace (child of the upstream's traceparent, if any) and returns its traceparent. */
export type NewTraceparent = (jobId: string, now: number, parentTraceparent: string | undefined) => string

const trialOf = (flag: 0 | 1 | null | undefined): boolean | undefined => (flag === undefined || flag === null ? undefined : flag === 1)

/** Fingerprint chunks stay well below Kafka's default 1 MB message size (400 KB, base64 ~530 KB). */
const FROZEN_CHUNK = 50_000

/** `job|review` of a state key, for messages people read. */
const describe = (key: ReviewKey): string => `${key[0]}|${key[1]}`

export class JobBook {
  private readonly join: SessionJoin<ReviewKey, Left, Right>
  /** Jobs touched since the last batch end (observability and lifecycle bookkeeping, not state). */
  private readonly touched = new Set<string>()
  private lastPeriodicPublish: number
  /** The task's active time and wall time at the last event (to show deadlines as wall-clock times). */
  private clocks = { now: 0, active: 0 }

  constructor(
    private readonly settings: JobBookSettings,
    private readonly stores: ReviewStores,
    private readonly sinks: JobSinks,
    private readonly newTraceparent: NewTraceparent,
    startedAt: number
  ) {
    this.join = new SessionJoin(stores.joins)
    this.lastPeriodicPublish = startedAt
  }

  // ---- reads -------------------------------------------------------------

  job(jobId: string): Job | undefined {
    return this.stores.jobs.get(jobId)
  }

  /** An immutable snapshot of every job (the values are immutable; the list is a copy). */
  jobs(): ReadonlyArray<Job> {
    return [...this.stores.jobs.values()]
  }

  /**
   * A deadline (on the task's active clock) as a wall-clock time, assuming the service
   * stays caught up from the last event on.
   */
  wallClockOf(deadline: number): number {
    return this.clocks.now + (deadline - this.clocks.active)
  }

  /** Join sides still waiting for their other half. */
  get pendingJoins(): number {
    return this.join.size
  }

  // ---- record handling ---------------------------------------------------

  transform(element: Element<TransformReview>, recordTimestamp: number, ctx: Ctx): void {
    const r = element.value
    const job = this.jobFor(r.job_id, ctx, element.source)
    if (this.lateOrRepeat(job, "transform", r.review_id, element.source, ctx)) return
    const key: ReviewKey = [job.jobId, r.review_id]
    let flags = this.stores.reviews.get(key) ?? 0
    if (has(flags, Flags.transform)) return this.duplicate(job, "transform", ctx)
    const trial = r.is_coupang_trial === 1
    // A sentiment counted before its split was known now joins its split.
    const resolved = has(flags, Flags.splitPending) ? sentimentOf(flags) : undefined
    flags &= ~Flags.splitPending
    if (has(flags, Flags.transformInvalid)) this.forgiveInvalid(job.jobId, "transform")
    flags = (flags & ~Flags.transformInvalid) | Flags.transform | (trial ? Flags.transformTrial : 0)
    this.stores.reviews.put(key, flags)
    ctx.event(ReviewEvent.counted.transform)
    this.contribute(job.jobId, r, resolved, trial, false)
    this.offerJoin(job, key, "left", { value: r, source: element.source }, recordTimestamp, ctx)
  }

  analysis(element: Element<AnalysisRecord>, recordTimestamp: number, ctx: Ctx): void {
    const a = element.value
    const job = this.jobFor(a.job_id, ctx, element.source)
    if (this.lateOrRepeat(job, "analysis", a.review_id, element.source, ctx)) return
    const key: ReviewKey = [job.jobId, a.review_id]
    let flags = this.stores.reviews.get(key) ?? 0
    if (has(flags, Flags.analysis)) return this.duplicate(job, "analysis", ctx)
    // The analysis record's own flag wins; else the transform record's, once known.
    const trial = trialOf(a.is_coupang_trial) ??
      (has(flags, Flags.transform) ? has(flags, Flags.transformTrial) : undefined)
    if (has(flags, Flags.analysisInvalid)) this.forgiveInvalid(job.jobId, "analysis")
    flags = withSentiment((flags & ~Flags.analysisInvalid) | Flags.analysis, a.sentiment)
    if (trial === undefined) flags |= Flags.splitPending
    this.stores.reviews.put(key, flags)
    ctx.event(ReviewEvent.counted.analysis)
    this.contribute(job.jobId, undefined, a.sentiment, trial, true)
    this.offerJoin(job, key, "right", { value: a, source: element.source }, recordTimestamp, ctx)
  }

  control(element: Element<ControlRecordInput>, ctx: Ctx): void {
    const c = element.value
    const job = this.jobFor(c.job_id, ctx, element.source)
    if (isFinished(job)) return
    if (c.status === "done") {
      // Only the collector's count matters; later stages' "done" are this service's to decide.
      if (c.step === "collection" && job.expected === undefined) this.update({ ...job, expected: c.expected_count ?? 0 })
      return
    }
    if (job.upstreamFailure === undefined) {
      const reason = c.error_message ?? c.failure_reason ?? `upstream reported ${c.status}`
      this.update({ ...job, upstreamFailure: { step: c.step, status: c.status, message: reason } })
    }
  }

  /**
   * An element that could not be used: dead-lettered, and counted against its job when
   * the job id is readable (distinct records: by review id, or by position when the id
   * is unreadable, so a redelivered record is not counted twice).
   */
  rejected(step: CountedStep | "control", rejected: Rejected, ctx: Ctx): void {
    const jobId = readableId(rejected.raw, "job_id")
    if (step === "control" || jobId === undefined) return this.deadLetter(rejected.source, rejected.reason, ctx)
    const job = this.jobFor(jobId, ctx, rejected.source)
    this.deadLetter(rejected.source, rejected.reason, ctx)
    if (job.finishedAt !== undefined) return
    const s = rejected.source
    const reviewId = readableId(rejected.raw, "review_id") ?? `\u0000${s.topic}/${s.partition}/${s.offset}/${s.index ?? ""}`
    const key: ReviewKey = [jobId, reviewId]
    const usableFlag = step === "transform" ? Flags.transform : Flags.analysis
    const invalidFlag = step === "transform" ? Flags.transformInvalid : Flags.analysisInvalid
    const flags = this.stores.reviews.get(key) ?? 0
    // A review already counted (usable or not) is not counted against the job again.
    if (has(flags, usableFlag | invalidFlag)) return
    this.stores.reviews.put(key, flags | invalidFlag)
    this.update(withQuality(job, step, (q) => ({ ...q, invalid: q.invalid + 1, firstInvalid: q.firstInvalid ?? rejected.reason.message })))
  }

  /** Applies the batch's deltas and runs the lifecycle of every job it touched. */
  endBatch(ctx: Ctx): void {
    this.clocks = { now: ctx.now, active: ctx.activeTime }
    for (const [jobId, contributions] of [...this.stores.batchStats.entries()]) {
      const job = this.stores.jobs.get(jobId)!
      this.update({ ...job, stats: JobStats.combine(job.stats, fold(contributions)), unpublished: true })
      this.stores.batchStats.delete(jobId)
    }
    for (const jobId of this.touched) this.advance(jobId, ctx)
    this.reportChanged(ctx)
  }

  /** Clock work: closes join windows, enforces deadlines, publishes periodically, evicts. */
  tick(ctx: Ctx): void {
    const now = ctx.now
    this.clocks = { now, active: ctx.activeTime }
    // Windows close by the time up to which everything has been read: a partner still unread is not missing.
    for (const u of this.join.expire(ctx.decisionTime)) {
      this.unmatched(u, `no ${u.side === "left" ? "analysis" : "transform"} record for ${describe(u.key)} within ${this.settings.windowInactivityMs} ms`, ctx)
    }
    for (const job of [...this.stores.jobs.values()]) {
      if (!isFinished(job)) this.advance(job.jobId, ctx)
      else if (job.finishedAt! + this.settings.jobRetentionMs <= now) this.evict(job)
    }
    if (now - this.lastPeriodicPublish >= this.settings.publishIntervalMs) {
      this.lastPeriodicPublish = now
      for (const job of [...this.stores.jobs.values()]) {
        if (isFinished(job) || !job.unpublished) continue
        publishAggregate(this.sinks, ctx, job, false)
        this.update({ ...job, unpublished: false })
      }
    }
    this.reportChanged(ctx)
  }

  // ---- internals ---------------------------------------------------------

  private reportChanged(ctx: Ctx): void {
    if (this.touched.size === 0) return
    ctx.event({ _tag: "JobsChanged", jobIds: [...this.touched] })
    this.touched.clear()
  }

  private jobFor(jobId: string, ctx: Ctx, source: SourceRef): Job {
    const existing = this.stores.jobs.get(jobId)
    if (existing !== undefined) return existing
    const job = newJob(jobId, ctx.now, this.settings.timeoutMs, this.newTraceparent(jobId, ctx.now, source.headers["traceparent"]), ctx.activeTime)
    this.update(job)
    return job
  }

  private update(job: Job): void {
    this.stores.jobs.put(job.jobId, job)
    this.touched.add(job.jobId)
  }

  private contribute(jobId: string, review: TransformReview | undefined, sentiment: Sentiment | undefined, trial: boolean | undefined, countAll: boolean): void {
    const previous = this.stores.batchStats.get(jobId)
    this.stores.batchStats.put(jobId, { review, sentiment, trial, countAll, previous })
  }

  /** For a finished job: a counted id is a duplicate, a new one a late record. */
  private lateOrRepeat(job: Job, step: CountedStep, reviewId: string, source: SourceRef, ctx: Ctx): boolean {
    if (job.finishedAt === undefined) return false
    let counted = false
    for (const [[, side], set] of this.stores.frozen.group(job.jobId)) {
      if (side === step && set.has(reviewId)) {
        counted = true
        break
      }
    }
    if (counted) {
      this.duplicate(job, step, ctx)
    } else {
      ctx.event(ReviewEvent.late)
      this.deadLetter(source, {
        type: "late_record",
        message: `job ${job.jobId} already finished (${job.stages.ended?.status}); review ${reviewId} arrived after it`,
        headers: { "dlq.job_id": job.jobId }
      }, ctx)
    }
    return true
  }

  /** Dead letters of a known job also carry its traceparent (unless the original had one). */
  private deadLetter(source: SourceRef, reason: DeadLetterReason, ctx: Ctx): void {
    const jobId = reason.headers?.["dlq.job_id"]
    const job = jobId === undefined ? undefined : this.stores.jobs.get(jobId)
    ctx.deadLetter(source, reason, job === undefined ? {} : { traceparent: job.traceparent })
  }

  private duplicate(job: Job, step: CountedStep, ctx: Ctx): void {
    ctx.event(ReviewEvent.duplicate)
    this.update(withQuality(this.stores.jobs.get(job.jobId)!, step, (q) => ({ ...q, duplicates: q.duplicates + 1 })))
  }

  /** A usable record arrived for a review that had only an unusable one: it no longer counts as invalid. */
  private forgiveInvalid(jobId: string, step: CountedStep): void {
    this.update(withQuality(this.stores.jobs.get(jobId)!, step, (q) =>
      ({ ...q, invalid: q.invalid - 1, firstInvalid: q.invalid === 1 ? undefined : q.firstInvalid })))
  }

  private offerJoin(job: Job, key: ReviewKey, side: "left" | "right", held: Left | Right, recordTimestamp: number, ctx: Ctx): void {
    const result = this.join.offer(key, side, held, recordTimestamp)
    if (result._tag === "Joined") {
      publishRow(this.sinks, ctx, job, joinRow(result.left.value, result.right.value))
    } else {
      for (const u of result.expired) this.unmatched(u, `records for ${describe(u.key)} were more than ${this.settings.windowInactivityMs} ms apart`, ctx)
    }
  }

  private unmatched(u: Unmatched<ReviewKey, Left, Right>, message: string, ctx: Ctx): void {
    this.deadLetter(u.pending.value.source, { type: "join_unmatched", message, headers: { "dlq.job_id": u.key[0] } }, ctx)
  }

  private advance(jobId: string, ctx: Ctx): void {
    const before = this.stores.jobs.get(jobId)
    if (before === undefined || isFinished(before)) return
    const [job, decisions] = evaluate(before, ctx.now, this.settings.timeoutMs, Math.min(ctx.decisionTime, ctx.now), ctx.activeTime)
    if (job !== before) this.update(job)
    for (const d of decisions) publishDecision(this.sinks, ctx, job, d)
    if (isFinished(job)) this.finish(job, ctx)
  }

  /** Releases per-review state: the index freezes to fingerprints, waiting join sides are dead-lettered. */
  private finish(job: Job, ctx: Ctx): void {
    const freezer = new IndexFreezer()
    this.stores.reviews.dropGroup(job.jobId, ([, reviewId], flags) => freezer.add(reviewId, flags))
    const frozen = freezer.build()
    for (const side of ["transform", "analysis"] as const) {
      frozen[side].chunks(FROZEN_CHUNK).forEach((chunk, i) => this.stores.frozen.put([job.jobId, side, String(i)], chunk))
    }
    const finished = { ...job, finishedAt: ctx.now, unpublished: false }
    this.update(finished)
    const ended = finished.stages.ended!
    ctx.event({
      _tag: "JobFinished",
      jobId: job.jobId,
      step: ended.stage,
      status: ended.status,
      reason: ended.message,
      expected: job.expected,
      actual: job.stats.transform.total
    })
    for (const u of this.join.releaseGroup(job.jobId)) {
      this.unmatched(u, `job ${job.jobId} finished before the ${u.side === "left" ? "analysis" : "transform"} record for ${describe(u.key)} arrived`, ctx)
    }
  }

  private evict(job: Job): void {
    this.stores.jobs.delete(job.jobId)
    this.stores.frozen.deleteGroup(job.jobId)
    this.touched.add(job.jobId)
  }
}
