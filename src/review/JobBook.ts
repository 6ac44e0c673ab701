/**
 * The aggregation core: applies decoded records to per-job state, joins the two sides,
 * runs the lifecycle rules and says which records to write. Synchronous and
 * deterministic given the times it is handed, so the Effect shell around it
 * (ReviewAggregator) owns I/O, clocks and concurrency, and tests drive it directly.
 *
 * Within a batch, statistics accumulate in per-job deltas (a monoid value); at the end
 * of the batch each job's immutable stats are combined with its delta once.
 */
import type { OutgoingRecord } from "../kernel/kafka/KafkaPort.ts"
import { SessionJoin, type BufferedKey, type Unmatched } from "../kernel/join/SessionJoin.ts"
import { deadLetter, type DeadLetterReason, type SourceRef } from "../kernel/source/DeadLetter.ts"
import type { Decoded } from "../kernel/source/TypedSource.ts"
import { isFinished, newJob, withQuality, type CountedStep, type Job } from "./Job.ts"
import { newActivity, type Activity } from "./Activity.ts"
import { evaluate } from "./JobLifecycle.ts"
import { aggregateRecord, decisionRecords, rowRecord, type OutputTopics } from "./JobOutputs.ts"
import { describeReviewKey, joinRow, reviewKey } from "./JoinedRow.ts"
import { Flags, freeze, has, sentimentOf, withSentiment } from "./ReviewIndex.ts"
import type { AnalysisRecord } from "./schema/AnalysisRecord.ts"
import type { ControlRecordInput } from "./schema/ControlRecord.ts"
import type { TransformReview } from "./schema/TransformRecord.ts"
import { JobStats } from "./stats/JobAggregate.ts"
import { ofAnalysis, ofResolvedSplit } from "./stats/SentimentStats.ts"
import { ofReview } from "./stats/TransformStats.ts"

export interface JobBookSettings extends OutputTopics {
  readonly dlqTopic: string
  readonly timeoutMs: number
  readonly windowInactivityMs: number
  readonly publishIntervalMs: number
  readonly jobRetentionMs: number
}

export interface Held<V> {
  readonly value: V
  readonly source: SourceRef
}
export type Left = Held<TransformReview>
export type Right = Held<AnalysisRecord>

const trialOf = (flag: 0 | 1 | null | undefined): boolean | undefined => (flag === undefined || flag === null ? undefined : flag === 1)

export class JobBook {
  private readonly jobs = new Map<string, Job>()
  private readonly join: SessionJoin<Left, Right>
  private readonly deltas = new Map<string, JobStats>()
  private out: Array<OutgoingRecord> = []
  private activity = newActivity()
  private lastPeriodicPublish: number

  constructor(
    private readonly settings: JobBookSettings,
    /** Starts a job's trace (child of the upstream's traceparent, if any) and returns its traceparent. */
    private readonly newTraceparent: (jobId: string, now: number, parentTraceparent: string | undefined) => string,
    startedAt: number
  ) {
    this.join = new SessionJoin(settings.windowInactivityMs)
    this.lastPeriodicPublish = startedAt
  }

  // ---- reads -------------------------------------------------------------

  job(jobId: string): Job | undefined {
    return this.jobs.get(jobId)
  }

  allJobs(): IterableIterator<Job> {
    return this.jobs.values()
  }

  /** Join sides still waiting for their other half. */
  get pendingJoins(): number {
    return this.join.size
  }

  // ---- record handling ---------------------------------------------------

  transform(decoded: Decoded<TransformReview>, recordTimestamp: number, now: number): void {
    if (!decoded.ok) return this.invalid("transform", decoded, now)
    const r = decoded.value
    const job = this.jobFor(r.job_id, now, decoded.source)
    if (this.lateOrRepeat(job, "transform", r.review_id, decoded.source)) return
    const reviews = job.reviews!
    let flags = reviews.get(r.review_id) ?? 0
    if (has(flags, Flags.transform)) return this.duplicate(job, "transform")
    const trial = r.is_coupang_trial === 1
    let delta: JobStats = { ...JobStats.initialValue, transform: ofReview(r) }
    if (has(flags, Flags.splitPending)) {
      delta = { ...delta, sentiment: ofResolvedSplit(sentimentOf(flags), trial) }
      flags &= ~Flags.splitPending
    }
    if (has(flags, Flags.transformInvalid)) this.forgiveInvalid(job, "transform")
    flags = (flags & ~Flags.transformInvalid) | Flags.transform | (trial ? Flags.transformTrial : 0)
    this.setReview(job, r.review_id, flags)
    this.activity.counted.transform++
    this.addDelta(job.jobId, delta)
    this.offerJoin(job, r.review_id, "left", { value: r, source: decoded.source }, recordTimestamp, now)
  }

  analysis(decoded: Decoded<AnalysisRecord>, recordTimestamp: number, now: number): void {
    if (!decoded.ok) return this.invalid("analysis", decoded, now)
    const a = decoded.value
    const job = this.jobFor(a.job_id, now, decoded.source)
    if (this.lateOrRepeat(job, "analysis", a.review_id, decoded.source)) return
    const reviews = job.reviews!
    let flags = reviews.get(a.review_id) ?? 0
    if (has(flags, Flags.analysis)) return this.duplicate(job, "analysis")
    // SPEC 5.2: the analysis record's own flag wins; else the transform record's, once known.
    const trial = trialOf(a.is_coupang_trial) ??
      (has(flags, Flags.transform) ? has(flags, Flags.transformTrial) : undefined)
    if (has(flags, Flags.analysisInvalid)) this.forgiveInvalid(job, "analysis")
    flags = withSentiment((flags & ~Flags.analysisInvalid) | Flags.analysis, a.sentiment)
    if (trial === undefined) flags |= Flags.splitPending
    this.setReview(job, a.review_id, flags)
    this.activity.counted.analysis++
    this.addDelta(job.jobId, { ...JobStats.initialValue, analyzed: 1, sentiment: ofAnalysis(a.sentiment, trial) })
    this.offerJoin(job, a.review_id, "right", { value: a, source: decoded.source }, recordTimestamp, now)
  }

  control(decoded: Decoded<ControlRecordInput>, now: number): void {
    if (!decoded.ok) {
      this.deadLetter(decoded.source, decoded.reason)
      return
    }
    const c = decoded.value
    const job = this.jobFor(c.job_id, now, decoded.source)
    if (isFinished(job)) return
    if (c.status === "done") {
      // Only the collector's count matters; later stages' "done" are this service's to decide.
      if (c.step === "collection" && job.expected === undefined) {
        this.update({ ...job, expected: c.expected_count ?? 0 })
      }
      return
    }
    if (job.upstreamFailure === undefined) {
      const reason = c.error_message ?? c.failure_reason ?? `upstream reported ${c.status}`
      this.update({ ...job, upstreamFailure: { step: c.step, status: c.status, message: reason } })
    }
  }

  /** Applies the batch's deltas and runs the lifecycle of every job it touched. */
  endBatch(now: number): { readonly records: ReadonlyArray<OutgoingRecord>; readonly activity: Activity } {
    for (const [jobId, delta] of this.deltas) {
      const job = this.jobs.get(jobId)!
      this.update({ ...job, stats: JobStats.combine(job.stats, delta), unpublished: true })
    }
    this.deltas.clear()
    for (const jobId of this.activity.changedJobs) this.advance(jobId, now)
    return this.drain()
  }

  /** Clock work: closes join windows, enforces deadlines, publishes periodically, evicts. */
  tick(now: number): { readonly records: ReadonlyArray<OutgoingRecord>; readonly activity: Activity } {
    for (const u of this.join.expire(now)) this.unmatched(u, `no ${u.side === "left" ? "analysis" : "transform"} record for ${describeReviewKey(u.key)} within ${this.settings.windowInactivityMs} ms`)
    for (const job of [...this.jobs.values()]) {
      if (!isFinished(job)) this.advance(job.jobId, now)
      else if (job.finishedAt! + this.settings.jobRetentionMs <= now) {
        this.jobs.delete(job.jobId)
        this.activity.evictedJobs.set(job.jobId, job)
      }
    }
    if (now - this.lastPeriodicPublish >= this.settings.publishIntervalMs) {
      this.lastPeriodicPublish = now
      for (const job of this.jobs.values()) {
        if (isFinished(job) || !job.unpublished) continue
        this.out.push(aggregateRecord(this.settings, job, false, now))
        this.update({ ...job, unpublished: false })
      }
    }
    return this.drain()
  }

  /** The sides buffered under a join key (for the changelog). */
  joinState(key: string) {
    return this.join.peek(key)
  }

  /**
   * Puts back jobs and buffered join sides from the changelog (state restore). Join
   * windows restart at `now`: the partner of a buffered side may be waiting unread in
   * the backlog, and downtime is not inactivity. Deadlines keep their wall-clock times.
   */
  restore(jobs: Iterable<Job>, joins: Iterable<readonly [string, BufferedKey<Left, Right>]>, now: number): void {
    for (const job of jobs) this.jobs.set(job.jobId, job)
    const ordered = [...joins].sort(([, a], [, b]) => a.lastActivity - b.lastActivity)
    for (const [key, buffered] of ordered) this.join.restore(key, { ...buffered, lastActivity: Math.max(buffered.lastActivity, now) })
  }

  // ---- internals ---------------------------------------------------------

  private drain() {
    const result = { records: this.out, activity: this.activity }
    this.out = []
    this.activity = newActivity()
    return result
  }

  private jobFor(jobId: string, now: number, source: SourceRef): Job {
    const existing = this.jobs.get(jobId)
    if (existing !== undefined) return existing
    const job = newJob(jobId, now, this.settings.timeoutMs, this.newTraceparent(jobId, now, source.headers["traceparent"]))
    this.update(job)
    return job
  }

  private update(job: Job): void {
    this.jobs.set(job.jobId, job)
    this.activity.changedJobs.add(job.jobId)
  }

  private setReview(job: Job, reviewId: string, flags: number): void {
    job.reviews!.set(reviewId, flags)
    let changed = this.activity.changedReviews.get(job.jobId)
    if (changed === undefined) {
      changed = new Set()
      this.activity.changedReviews.set(job.jobId, changed)
    }
    changed.add(reviewId)
  }

  private addDelta(jobId: string, delta: JobStats): void {
    const prev = this.deltas.get(jobId)
    this.deltas.set(jobId, prev === undefined ? delta : JobStats.combine(prev, delta))
  }

  /** For a finished job: a counted id is a duplicate, a new one a late record (SPEC 5.3). */
  private lateOrRepeat(job: Job, step: CountedStep, reviewId: string, source: SourceRef): boolean {
    if (job.frozen === undefined) return false
    if (job.frozen[step].has(reviewId)) {
      this.duplicate(job, step)
    } else {
      this.activity.lateRecords++
      this.deadLetter(source, {
        type: "late_record",
        message: `job ${job.jobId} already finished (${job.stages.ended?.status}); review ${reviewId} arrived after it`,
        jobId: job.jobId
      })
    }
    return true
  }

  /** Dead letters of a known job also carry its traceparent (unless the original had one). */
  private deadLetter(source: SourceRef, reason: DeadLetterReason): void {
    const job = reason.jobId === undefined ? undefined : this.jobs.get(reason.jobId)
    this.out.push(deadLetter(this.settings.dlqTopic, source, reason, job === undefined ? {} : { traceparent: job.traceparent }))
  }

  private duplicate(job: Job, step: CountedStep): void {
    this.activity.duplicates++
    this.update(withQuality(job, step, (q) => ({ ...q, duplicates: q.duplicates + 1 })))
  }

  private invalid(step: CountedStep, decoded: Extract<Decoded<unknown>, { ok: false }>, now: number): void {
    if (decoded.groupId === undefined) return this.deadLetter(decoded.source, decoded.reason)
    const job = this.jobFor(decoded.groupId, now, decoded.source)
    this.deadLetter(decoded.source, decoded.reason)
    if (job.reviews === undefined) return
    const usableFlag = step === "transform" ? Flags.transform : Flags.analysis
    const invalidFlag = step === "transform" ? Flags.transformInvalid : Flags.analysisInvalid
    // Distinct records count (SPEC 5.4): by review id, or by position when the id is unreadable,
    // so a redelivered record is not counted against the job twice.
    const key = decoded.entityId ?? `\u0000${decoded.source.topic}/${decoded.source.partition}/${decoded.source.offset}/${decoded.source.index ?? ""}`
    const flags = job.reviews.get(key) ?? 0
    // A review already counted (usable or not) is not counted against the job again.
    if (has(flags, usableFlag | invalidFlag)) return
    this.setReview(job, key, flags | invalidFlag)
    this.update(withQuality(job, step, (q) => ({ ...q, invalid: q.invalid + 1, firstInvalid: q.firstInvalid ?? decoded.reason.message })))
  }

  /** A usable record arrived for a review that had only an unusable one: it no longer counts as invalid. */
  private forgiveInvalid(job: Job, step: CountedStep): void {
    this.update(withQuality(this.jobs.get(job.jobId)!, step, (q) =>
      ({ ...q, invalid: q.invalid - 1, firstInvalid: q.invalid === 1 ? undefined : q.firstInvalid })))
  }

  private offerJoin(job: Job, reviewId: string, side: "left" | "right", held: Left | Right, recordTimestamp: number, now: number): void {
    const key = reviewKey(job.jobId, reviewId)
    const result = this.join.offer(key, job.jobId, side, held, recordTimestamp, now)
    this.activity.changedJoinKeys.add(key)
    if (result._tag === "Joined") {
      this.out.push(rowRecord(this.settings, job, joinRow(result.left.value, result.right.value)))
    } else {
      for (const u of result.expired) this.unmatched(u, `records for ${describeReviewKey(u.key)} were more than ${this.settings.windowInactivityMs} ms apart`)
    }
  }

  private unmatched(u: Unmatched<Left, Right>, message: string): void {
    this.activity.changedJoinKeys.add(u.key)
    this.deadLetter(u.pending.value.source, { type: "join_unmatched", message, jobId: u.group })
  }

  private advance(jobId: string, now: number): void {
    const before = this.jobs.get(jobId)
    if (before === undefined || isFinished(before)) return
    const [job, decisions] = evaluate(before, now, this.settings.timeoutMs)
    if (job !== before) this.update(job)
    for (const d of decisions) {
      this.out.push(...decisionRecords(this.settings, job, d, now))
      if (d._tag !== "StepDone") this.activity.finished.push({ jobId: job.jobId, decision: d })
    }
    if (isFinished(job)) this.finish(job, now)
  }

  /** Releases per-review state: the index freezes to fingerprints, waiting join sides are dead-lettered. */
  private finish(job: Job, now: number): void {
    this.activity.releasedReviews.set(job.jobId, [...(job.reviews?.keys() ?? [])])
    this.activity.changedReviews.delete(job.jobId)
    this.update({ ...job, finishedAt: now, unpublished: false, reviews: undefined, frozen: freeze(job.reviews ?? new Map()) })
    for (const u of this.join.releaseGroup(job.jobId)) {
      this.unmatched(u, `job ${job.jobId} finished before the ${u.side === "left" ? "analysis" : "transform"} record for ${describeReviewKey(u.key)} arrived`)
    }
  }
}
