/**
 * Dead-letter records in the Kafka Connect convention: the original key and value bytes
 * unchanged, the reason and the source coordinates in `dlq.*` headers.
 */
import type { ConsumedRecord, Headers, OutgoingRecord } from "../kafka/KafkaPort.ts"

export const DeadLetterTypes = ["invalid_json", "schema", "join_unmatched", "late_record", "processing"] as const
export type DeadLetterType = (typeof DeadLetterTypes)[number]

export interface DeadLetterReason {
  readonly type: DeadLetterType
  readonly message: string
  /** Position of the element inside a batch envelope. */
  readonly index?: number | undefined
  /** The job (or other entity) the record belongs to, when it could be read. */
  readonly jobId?: string | undefined
}

/** Where a record came from; enough to build its dead letter later (e.g. when a join window closes). */
export interface SourceRef {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Uint8Array | null
  readonly headers: ConsumedRecord["headers"]
  /** The bytes to dead-letter: the whole value, or one batch element's JSON. */
  readonly value: Uint8Array | string | null
  readonly index?: number | undefined
}

export const sourceRefOf = (record: ConsumedRecord, element?: { readonly index: number; readonly json: string }): SourceRef => ({
  topic: record.topic,
  partition: record.partition,
  offset: record.offset,
  key: record.key,
  headers: record.headers,
  value: element === undefined ? record.value : element.json,
  index: element?.index
})

/** `context` headers (e.g. the job's traceparent) are added only where the original has none. */
export const deadLetter = (dlqTopic: string, source: SourceRef, reason: DeadLetterReason, context: Headers = {}): OutgoingRecord => {
  const headers: Record<string, string> = {
    ...context,
    ...source.headers,
    "dlq.error.type": reason.type,
    "dlq.error.message": reason.message,
    "dlq.source.topic": source.topic,
    "dlq.source.partition": String(source.partition),
    "dlq.source.offset": String(source.offset)
  }
  const index = reason.index ?? source.index
  if (index !== undefined) headers["dlq.source.index"] = String(index)
  if (reason.jobId !== undefined) headers["dlq.job_id"] = reason.jobId
  return { topic: dlqTopic, key: source.key, value: source.value, headers }
}
