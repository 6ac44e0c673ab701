/** Driving a JobBook directly with decoded records, as the aggregator does per batch. */
import type { SourceRef } from "../../src/kernel/source/DeadLetter.ts"
import type { Decoded } from "../../src/kernel/source/TypedSource.ts"
import { JobBook, type JobBookSettings } from "../../src/review/JobBook.ts"

export const testSettings: JobBookSettings = {
  applicationId: "test-app",
  rowsTopic: "rows",
  aggregateTopic: "agg",
  controlTopic: "control",
  dlqTopic: "dlq",
  timeoutMs: 10_000,
  windowInactivityMs: 1_000,
  publishIntervalMs: 60_000,
  jobRetentionMs: 3_600_000
}

let offset = 0
export const source = (topic: string, value = "{}"): SourceRef => ({
  topic,
  partition: 0,
  offset: offset++,
  key: null,
  headers: {},
  value
})

export const ok = <A>(value: A, topic = "in"): Decoded<A> => ({ ok: true, value, source: source(topic, JSON.stringify(value)) })

export const newBook = (overrides: Partial<JobBookSettings> = {}, now = 0) =>
  new JobBook({ ...testSettings, ...overrides }, (jobId) => `00-${"0".repeat(24)}${jobId.padStart(8, "0").slice(-8)}-${"1".repeat(16)}-01`, now)
