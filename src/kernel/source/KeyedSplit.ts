/**
 * Splits a record by a key read from its JSON value, decoding no more than that takes:
 * UTF-8, JSON and the key (of the record, or of each element of a batch envelope). A
 * record whose elements share one key stays whole, its bytes unchanged; an envelope whose
 * elements have different keys becomes one envelope per key, listing the elements'
 * original positions. What has no readable key is rejected with the reason the source's
 * full decoding gives it, so a later stage could not have counted it anywhere either.
 */
import { Result } from "effect"
import type { ConsumedRecord } from "../kafka/KafkaPort.ts"
import { isJsonObject, parseJsonBytes, type JsonObject } from "./JsonMessage.ts"
import { decode, type Envelope, type Rejected, type Source } from "./Source.ts"

export interface KeyedPart {
  readonly key: string
  /** The record's bytes when it stays whole, else the JSON of the envelope of this key's elements. */
  readonly value: Uint8Array | string | null
  /** Original positions of a split envelope's elements, in order; undefined when whole. */
  readonly indices?: ReadonlyArray<number> | undefined
}

export interface KeyedSplit {
  readonly parts: ReadonlyArray<KeyedPart>
  readonly rejected: ReadonlyArray<Rejected>
}

/**
 * Reads the key from what decoding would see: the record, the envelope (for a batch
 * field that is not an array, or an element that is not an object), or an element with
 * the fields it inherits from its envelope.
 */
export type KeyOf = (raw: JsonObject) => string | undefined

/** As `Source.decode` completes an element: fields it lacks (or has as null) come from the envelope. */
const withInherited = (element: JsonObject, envelope: JsonObject, inherit: Envelope["inherit"]): JsonObject => {
  const missing = inherit.filter((f) => (element[f] === undefined || element[f] === null) && envelope[f] !== undefined)
  return missing.length === 0 ? element : { ...element, ...Object.fromEntries(missing.map((f) => [f, envelope[f]])) }
}

/**
 * The rejections full decoding gives the elements at `positions` (all when undefined). An
 * element that decodes although it has no key is rejected as `schema`: it cannot be placed.
 */
const rejectionsAt = <A>(source: Source<A>, record: ConsumedRecord, positions?: ReadonlyArray<number>): ReadonlyArray<Rejected> => {
  const decoded = decode(source, record)
  return (positions ?? decoded.map((_, i) => i)).map((i) => {
    const result = decoded[i]!
    return Result.isFailure(result)
      ? result.failure
      : { reason: { type: "schema", message: "no key to partition the record by" }, source: result.success.source, raw: undefined }
  })
}

export const splitByKey = <A>(source: Source<A>, keyOf: KeyOf, record: ConsumedRecord): KeyedSplit => {
  const parsed = parseJsonBytes(record.value)
  if (Result.isFailure(parsed) || !isJsonObject(parsed.success.value)) return { parts: [], rejected: rejectionsAt(source, record) }
  const json = parsed.success.value
  const envelope = source.envelope
  const elements = envelope === undefined ? undefined : json[envelope.field]
  if (envelope === undefined || !Array.isArray(elements)) {
    const key = keyOf(json)
    return key === undefined ? { parts: [], rejected: rejectionsAt(source, record) } : { parts: [{ key, value: record.value }], rejected: [] }
  }

  const byKey = new Map<string, Array<number>>()
  const unkeyed: Array<number> = []
  elements.forEach((element: unknown, index) => {
    const key = keyOf(isJsonObject(element) ? withInherited(element, json, envelope.inherit) : json)
    if (key === undefined) return void unkeyed.push(index)
    const indices = byKey.get(key)
    if (indices === undefined) byKey.set(key, [index])
    else indices.push(index)
  })
  const rejected = unkeyed.length === 0 ? [] : rejectionsAt(source, record, unkeyed)
  if (byKey.size === 1 && unkeyed.length === 0) return { parts: [{ key: [...byKey.keys()][0]!, value: record.value }], rejected }
  const parts = [...byKey].map(([key, indices]): KeyedPart => ({
    key,
    value: JSON.stringify({ ...json, [envelope.field]: indices.map((i) => elements[i]) }),
    indices
  }))
  return { parts, rejected }
}
