/**
 * The records a job writes: joined rows, aggregates and control messages, each encoded
 * with its output Schema, keyed as the service's contract says and carrying the job's
 * traceparent.
 */
import * as Sink from "../kernel/output/Sink.ts"
import type { TaskContext } from "../kernel/runtime/Task.ts"
import { usable, type Job } from "./Job.ts"
import type { Decision } from "./JobLifecycle.ts"
import { joinKey, type JoinedRow } from "./JoinedRow.ts"
import type { Status, Step } from "./schema/ControlRecord.ts"
import { ControlMessage, JobAggregate, JoinedRow as JoinedRowSchema } from "./schema/OutputRecords.ts"
import { renderAggregate } from "./stats/JobAggregate.ts"

export interface OutputTopics {
  readonly applicationId: string
  readonly rowsTopic: string
  readonly aggregateTopic: string
  readonly controlTopic: string
}

export const PRODUCER_HEADER = "producer"

export interface JobSinks {
  readonly rows: Sink.Sink<JoinedRow>
  readonly aggregates: Sink.Sink<JobAggregate>
  readonly control: Sink.Sink<ControlMessage>
  /** This application's id, in the `producer` header of its control messages. */
  readonly applicationId: string
}

export const jobSinks = (topics: OutputTopics): JobSinks => ({
  // A row is a decoded transform review and analysis record, side by side (JoinedRow.ts).
  rows: Sink.make({ topic: topics.rowsTopic, schema: JoinedRowSchema, key: (row) => joinKey(row.job_id, row.review_id), prevalidated: true }),
  aggregates: Sink.make({ topic: topics.aggregateTopic, schema: JobAggregate, key: (a) => a.job_id }),
  control: Sink.make({ topic: topics.controlTopic, schema: ControlMessage, key: (m) => m.job_id }),
  applicationId: topics.applicationId
})

// Outputs do not depend on the task's event type.
type Ctx = TaskContext<any>

export const publishRow = (sinks: JobSinks, ctx: Ctx, job: Job, row: JoinedRow): void =>
  ctx.publish(sinks.rows, row, { traceparent: job.traceparent })

export const publishAggregate = (sinks: JobSinks, ctx: Ctx, job: Job, isFinal: boolean): void =>
  ctx.publish(sinks.aggregates, renderAggregate(job.jobId, job.stats, isFinal, new Date(ctx.now)), { traceparent: job.traceparent })

/** actual_count: the step's own distinct usable count; collection and aggregation report the transform count. */
const actualOf = (job: Job, step: Step): number =>
  step === "analysis" ? usable(job, "analysis") : usable(job, "transform")

const publishControl = (sinks: JobSinks, ctx: Ctx, job: Job, step: Step, status: Status, errorMessage?: string): void =>
  ctx.publish(sinks.control, {
    job_id: job.jobId,
    status,
    step,
    expected_count: job.expected ?? null,
    actual_count: actualOf(job, step),
    timestamp: new Date(ctx.now).toISOString(),
    ...(status !== "done" && errorMessage !== undefined ? { error_message: errorMessage } : {})
  }, { [PRODUCER_HEADER]: sinks.applicationId, traceparent: job.traceparent })

/** The records a lifecycle decision writes. A failed job's failing step goes last: it is the job's final word. */
export const publishDecision = (sinks: JobSinks, ctx: Ctx, job: Job, d: Decision): void => {
  switch (d._tag) {
    case "StepDone":
      return publishControl(sinks, ctx, job, d.step, "done")
    case "JobDone":
      publishAggregate(sinks, ctx, job, true)
      return publishControl(sinks, ctx, job, "aggregation", "done")
    case "JobFailed":
      publishAggregate(sinks, ctx, job, true)
      if (d.step !== "aggregation") publishControl(sinks, ctx, job, "aggregation", "failed", `${d.step} ${d.status}: ${d.reason}`)
      return publishControl(sinks, ctx, job, d.step, d.status, d.reason)
  }
}
