/**
 * Where a re-keyed record came from, carried in its headers: a stage that moves records
 * to another topic (topology/Repartition.ts) writes the original coordinates, and the
 * stage that reads them turns them back into the original SourceRef, so its dead letters
 * name the record (and batch element) its producer wrote, with the original key.
 */
import { Result } from "effect"
import type { ConsumedRecord, Headers } from "../kafka/KafkaPort.ts"
import type { SourceRef } from "./DeadLetter.ts"
import { decode, type Decoded, type Source } from "./Source.ts"

const PREFIX = "repartition.source."

export const OriginHeader = {
  topic: `${PREFIX}topic`,
  partition: `${PREFIX}partition`,
  offset: `${PREFIX}offset`,
  timestamp: `${PREFIX}timestamp`,
  /** Base64 of the original key bytes; absent when the key was null. */
  key: `${PREFIX}key`,
  /** Comma-separated original positions of a split envelope's elements, in their new order. */
  indices: `${PREFIX}indices`
} as const

/** The original record's headers plus its coordinates (and, for a split envelope, its elements' positions). */
export const originHeaders = (record: ConsumedRecord, indices?: ReadonlyArray<number>): Headers => {
  const headers: Record<string, string> = {
    ...record.headers,
    [OriginHeader.topic]: record.topic,
    [OriginHeader.partition]: String(record.partition),
    [OriginHeader.offset]: String(record.offset),
    [OriginHeader.timestamp]: String(record.timestamp)
  }
  if (record.key !== null) headers[OriginHeader.key] = Buffer.from(record.key.buffer, record.key.byteOffset, record.key.byteLength).toString("base64")
  if (indices !== undefined) headers[OriginHeader.indices] = indices.join(",")
  return headers
}

const nonNegative = (text: string | undefined, header: string): number => {
  const n = Number(text)
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new Error(`header ${header} is not a non-negative integer: ${JSON.stringify(text)}`)
  }
  return n
}

/** Whether the record was written by a repartition stage (carries its origin). */
export const hasOrigin = (headers: Headers): boolean => headers[OriginHeader.topic] !== undefined

/**
 * The SourceRef of the original record for one built from a repartitioned record
 * (`sourceRefOf`, `Source.decode`); a ref without origin headers is returned as it is.
 * Headers the repartition stage added are dropped; the value stays (a whole record's
 * bytes are the original's, an element's JSON is the original element's). Throws on
 * malformed origin headers: they are written by the repartition stage only.
 */
export const originalSource = (ref: SourceRef): SourceRef => {
  if (!hasOrigin(ref.headers)) return ref
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(ref.headers)) if (!name.startsWith(PREFIX)) headers[name] = value
  const indices = ref.headers[OriginHeader.indices]?.split(",").map((i) => nonNegative(i, OriginHeader.indices))
  if (indices !== undefined && ref.index !== undefined && indices[ref.index] === undefined) {
    throw new Error(`header ${OriginHeader.indices} lists ${indices.length} elements, the record has more`)
  }
  const key = ref.headers[OriginHeader.key]
  return {
    topic: ref.headers[OriginHeader.topic]!,
    partition: nonNegative(ref.headers[OriginHeader.partition], OriginHeader.partition),
    offset: nonNegative(ref.headers[OriginHeader.offset], OriginHeader.offset),
    key: key === undefined ? null : new Uint8Array(Buffer.from(key, "base64")),
    headers,
    value: ref.value,
    index: ref.index === undefined ? undefined : indices === undefined ? ref.index : indices[ref.index]
  }
}

/** The original record's timestamp (the repartitioned record carries it too, as its own). */
export const originalTimestamp = (record: ConsumedRecord): number => {
  if (!hasOrigin(record.headers)) return record.timestamp
  const text = record.headers[OriginHeader.timestamp]
  // Kafka writes -1 for a record without a timestamp.
  return text?.startsWith("-") === true ? -nonNegative(text.slice(1), OriginHeader.timestamp) : nonNegative(text, OriginHeader.timestamp)
}

/** `Source.decode` of a repartitioned record, every element's source the original's. */
export const decodeOriginal = <A>(source: Source<A>, record: ConsumedRecord): ReadonlyArray<Decoded<A>> =>
  decode(source, record).map((d) =>
    Result.isSuccess(d)
      ? Result.succeed({ ...d.success, source: originalSource(d.success.source) })
      : Result.fail({ ...d.failure, source: originalSource(d.failure.source) })
  )
