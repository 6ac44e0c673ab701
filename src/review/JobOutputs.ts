/**
 * The records a job writes: joined rows, aggregates and control messages, each keyed
 * as SPEC 3.3/4/5.2 say and carrying the job's traceparent.
 */
import type { OutgoingRecord } from "../kernel/kafka/KafkaPort.ts"
import { usable, type Job } from "./Job.ts"
import type { Decision } from "./JobLifecycle.ts"
import { joinKey, type JoinedRow } from "./JoinedRow.ts"
import type { Status, Step } from "./schema/ControlRecord.ts"
import type { ControlMessage } from "./schema/OutputRecords.ts"
import { renderAggregate } from "./stats/JobAggregate.ts"

export interface OutputTopics {
  readonly applicationId: string
  readonly rowsTopic: string
  readonly aggregateTopic: string
  readonly controlTopic: string
}

export const PRODUCER_HEADER = "producer"

export const rowRecord = (topics: OutputTopics, job: Job, row: JoinedRow): OutgoingRecord => ({
  topic: topics.rowsTopic,
  key: joinKey(row.job_id, row.review_id),
  value: JSON.stringify(row),
  headers: { traceparent: job.traceparent }
})

export const aggregateRecord = (topics: OutputTopics, job: Job, isFinal: boolean, now: number): OutgoingRecord => ({
  topic: topics.aggregateTopic,
  key: job.jobId,
  value: JSON.stringify(renderAggregate(job.jobId, job.stats, isFinal, new Date(now))),
  headers: { traceparent: job.traceparent }
})

/** actual_count: the step's own distinct usable count; collection and aggregation report the transform count. */
const actualOf = (job: Job, step: Step): number =>
  step === "analysis" ? usable(job, "analysis") : usable(job, "transform")

export const controlRecord = (
  topics: OutputTopics,
  job: Job,
  step: Step,
  status: Status,
  now: number,
  errorMessage?: string
): OutgoingRecord => {
  const message: ControlMessage = {
    job_id: job.jobId,
    status,
    step,
    expected_count: job.expected ?? null,
    actual_count: actualOf(job, step),
    timestamp: new Date(now).toISOString(),
    ...(status !== "done" && errorMessage !== undefined ? { error_message: errorMessage } : {})
  }
  return {
    topic: topics.controlTopic,
    key: job.jobId,
    value: JSON.stringify(message),
    headers: { [PRODUCER_HEADER]: topics.applicationId, traceparent: job.traceparent }
  }
}

/** The records a lifecycle decision writes. A failed job's failing step goes last: it is the job's final word. */
export const decisionRecords = (topics: OutputTopics, job: Job, d: Decision, now: number): ReadonlyArray<OutgoingRecord> => {
  switch (d._tag) {
    case "StepDone":
      return [controlRecord(topics, job, d.step, "done", now)]
    case "JobDone":
      return [aggregateRecord(topics, job, true, now), controlRecord(topics, job, "aggregation", "done", now)]
    case "JobFailed":
      return [
        aggregateRecord(topics, job, true, now),
        ...(d.step === "aggregation" ? [] : [controlRecord(topics, job, "aggregation", "failed", now, `${d.step} ${d.status}: ${d.reason}`)]),
        controlRecord(topics, job, d.step, d.status, now, d.reason)
      ]
  }
}
