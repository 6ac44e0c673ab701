/**
 * Dead-letter records in the Kafka Connect convention: the original key and value bytes
 * unchanged, the reason and the source coordinates in `dlq.*` headers. The reason type is
 * an open string: the kernel uses the three below, a domain adds its own (e.g. a join
 * that found no partner) and chooses extra headers (e.g. the entity a record belonged to).
 */
import type { ConsumedRecord, Headers, OutgoingRecord } from "../kafka/KafkaPort.ts"

/** Kernel reasons: undecodable bytes, a decoded value of the wrong shape, a handler that threw. */
export const KernelDeadLetterTypes = ["invalid_json", "schema", "processing"] as const

export interface DeadLetterReason {
  readonly type: string
  readonly message: string
  /** Extra `dlq.*` context the domain chose, e.g. `{ "dlq.job_id": "j1" }`. */
  readonly headers?: Headers | undefined
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
  /** Position of the element inside a batch envelope. */
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
  if (source.index !== undefined) headers["dlq.source.index"] = String(source.index)
  if (reason.headers !== undefined) Object.assign(headers, reason.headers)
  return { topic: dlqTopic, key: source.key, value: source.value, headers }
}
