/**
 * Typed decoding of one consumed record into elements: a single record or a batch
 * envelope (`{"<field>": [...], ...inherited}`) whose elements are decoded, counted and
 * dead-lettered one by one. Decoding never throws; a failure carries its DLQ reason.
 */
import type { ConsumedRecord } from "../kafka/KafkaPort.ts"
import { sourceRefOf, type DeadLetterReason, type SourceRef } from "./DeadLetter.ts"
import { isJsonObject, parseJsonBytes } from "./JsonMessage.ts"

export type ElementDecode<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly message: string }

export interface SourceCodec<A> {
  /** Field holding the elements of a batch envelope, e.g. `reviews`. */
  readonly batchField: string | undefined
  /** Fields an element takes from its envelope when it has none, e.g. `job_id`. */
  readonly inherited: ReadonlyArray<string>
  readonly decode: (element: Readonly<Record<string, unknown>>) => ElementDecode<A>
  /** Identity fields read from an undecodable element so its failure can be attributed. */
  readonly groupField: string
  /** Absent for records that name no entity (control messages). */
  readonly entityField: string | undefined
}

export type Decoded<A> =
  | { readonly ok: true; readonly value: A; readonly source: SourceRef }
  | {
    readonly ok: false
    readonly reason: DeadLetterReason
    readonly source: SourceRef
    /** Group (job) and entity (review) ids when they were readable. */
    readonly groupId: string | undefined
    readonly entityId: string | undefined
  }

const readableId = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined)

export const decodeRecord = <A>(codec: SourceCodec<A>, record: ConsumedRecord): ReadonlyArray<Decoded<A>> => {
  const parsed = parseJsonBytes(record.value)
  const whole = sourceRefOf(record)
  if (!parsed.ok) {
    return [{ ok: false, reason: { type: "invalid_json", message: parsed.message }, source: whole, groupId: undefined, entityId: undefined }]
  }
  const json = parsed.value
  if (!isJsonObject(json)) {
    const kind = Array.isArray(json) ? "an array" : json === null ? "null" : `a ${typeof json}`
    return [{ ok: false, reason: { type: "schema", message: `message must be a JSON object, got ${kind}` }, source: whole, groupId: undefined, entityId: undefined }]
  }
  const batch = codec.batchField === undefined ? undefined : json[codec.batchField]
  if (batch === undefined) return [decodeElement(codec, json, json, whole, undefined)]
  const envelopeGroup = readableId(json[codec.groupField])
  if (!Array.isArray(batch)) {
    return [{
      ok: false,
      reason: { type: "schema", message: `batch field "${codec.batchField}" must be an array`, jobId: envelopeGroup },
      source: whole,
      groupId: envelopeGroup,
      entityId: undefined
    }]
  }
  return batch.map((element, index) =>
    decodeElement(codec, element, json, sourceRefOf(record, { index, json: JSON.stringify(element) }), index)
  )
}

const decodeElement = <A>(
  codec: SourceCodec<A>,
  element: unknown,
  envelope: Readonly<Record<string, unknown>>,
  source: SourceRef,
  index: number | undefined
): Decoded<A> => {
  if (!isJsonObject(element)) {
    const groupId = readableId(envelope[codec.groupField])
    return { ok: false, reason: { type: "schema", message: "batch element must be a JSON object", index, jobId: groupId }, source, groupId, entityId: undefined }
  }
  let merged = element
  if (element !== envelope) {
    for (const field of codec.inherited) {
      if ((element[field] === undefined || element[field] === null) && envelope[field] !== undefined) {
        merged = merged === element ? { ...element } : merged
        ;(merged as Record<string, unknown>)[field] = envelope[field]
      }
    }
  }
  const result = codec.decode(merged)
  if (result.ok) return { ok: true, value: result.value, source }
  const groupId = readableId(merged[codec.groupField])
  return {
    ok: false,
    reason: { type: "schema", message: result.message, index, jobId: groupId },
    source,
    groupId,
    entityId: codec.entityField === undefined ? undefined : readableId(merged[codec.entityField])
  }
}
