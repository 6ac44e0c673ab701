/**
 * A SourceRef kept in state (e.g. a join side waiting for its partner), so that its
 * dead letter can still carry the original bytes. Stored as a flat tuple of primitives
 * (cheap to encode on the hot path): topic, partition, offset, key (base64), headers as
 * alternating names and values, the value as text or as base64 bytes, and the index.
 */
import { Schema, SchemaTransformation } from "effect"
import type { SourceRef } from "./DeadLetter.ts"

const Stored = Schema.Tuple([
  Schema.String,
  Schema.Number,
  Schema.Number,
  Schema.NullOr(Schema.String),
  Schema.Array(Schema.String),
  Schema.NullOr(Schema.String),
  Schema.NullOr(Schema.String),
  Schema.NullOr(Schema.Number)
])
type Stored = typeof Stored.Type

const Live = Schema.declare((u: unknown): u is SourceRef => typeof u === "object" && u !== null && "topic" in u && "offset" in u)

const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"))

const encode = (s: SourceRef): Stored => {
  const headers: Array<string> = []
  for (const [name, value] of Object.entries(s.headers)) headers.push(name, value)
  return [
    s.topic,
    s.partition,
    s.offset,
    s.key === null ? null : b64(s.key),
    headers,
    typeof s.value === "string" ? s.value : null,
    s.value instanceof Uint8Array ? b64(s.value) : null,
    s.index ?? null
  ]
}

const decode = ([topic, partition, offset, key, flatHeaders, text, bytes, index]: Stored): SourceRef => {
  const headers: Record<string, string> = {}
  for (let i = 0; i + 1 < flatHeaders.length; i += 2) headers[flatHeaders[i]!] = flatHeaders[i + 1]!
  return {
    topic,
    partition,
    offset,
    key: key === null ? null : unb64(key),
    headers,
    value: text ?? (bytes === null ? null : unb64(bytes)),
    index: index ?? undefined
  }
}

export const SourceRefSchema = Stored.pipe(Schema.decodeTo(Live, SchemaTransformation.transform<SourceRef, Stored>({ decode, encode })))
