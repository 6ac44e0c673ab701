/**
 * The changelog form of a join side waiting for its partner: one JSON line locating the
 * source record (topic, partition, offset, key, headers, batch index, inherited job id),
 * then the record's original text, unescaped. The decoded value is not stored: it is a
 * pure function of that text, decoded again at restore by the input's own decoder.
 *
 * Why the text and not the decoded value: a dead letter must carry the original bytes,
 * so they are kept anyway, and a decoded review is about as large as its text. Why the
 * text and not base64: a decoded record was strict UTF-8, so its text re-encodes to the
 * very same bytes, a third smaller than base64 and not escaped like a JSON string.
 */
import { Result } from "effect"
import type { SourceRef } from "../../kernel/source/DeadLetter.ts"
import { isJsonObject, type JsonObject } from "../../kernel/source/JsonMessage.ts"
import type { ValueText } from "../../kernel/store/StoreSpec.ts"

/** A decoded record held in state, with where it came from (to dead-letter it later). */
export interface Held<V> {
  readonly value: V
  readonly source: SourceRef
}

type Header = readonly [
  topic: string,
  partition: number,
  offset: number,
  key: string | null,
  headers: ReadonlyArray<string>,
  index: number | null,
  inheritedJobId: string | null,
  body: "text" | "base64" | "null"
]

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const b64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"))

/** The value as text when that is byte-exact (strict UTF-8), else as base64. */
const bodyOf = (value: SourceRef["value"]): readonly [Header[7], string] => {
  if (value === null) return ["null", ""]
  if (typeof value === "string") return ["text", value]
  try {
    return ["text", strictUtf8.decode(value)]
  } catch {
    return ["base64", b64(value)]
  }
}

const isHeader = (u: unknown): u is Header =>
  Array.isArray(u) && u.length === 8 && typeof u[0] === "string" && typeof u[1] === "number" && typeof u[2] === "number" &&
  (u[3] === null || typeof u[3] === "string") && Array.isArray(u[4]) && u[4].every((h) => typeof h === "string") &&
  (u[5] === null || typeof u[5] === "number") && (u[6] === null || typeof u[6] === "string") &&
  (u[7] === "text" || u[7] === "base64" || u[7] === "null")

/**
 * `decode` is the input's element decoder; batch elements get the envelope's `job_id`
 * back when they had none, as when they were first decoded.
 */
export const heldText = <V extends { readonly job_id: string }>(decode: (element: JsonObject) => Result.Result<V, string>): ValueText<Held<V>> => ({
  encode: ({ value, source }) => {
    const headers: Array<string> = []
    for (const name in source.headers) headers.push(name, source.headers[name]!)
    const [kind, body] = bodyOf(source.value)
    const header: Header = [
      source.topic,
      source.partition,
      source.offset,
      source.key === null ? null : b64(source.key),
      headers,
      source.index ?? null,
      source.index === undefined ? null : value.job_id,
      kind
    ]
    return `${JSON.stringify(header)}\n${body}`
  },
  decode: (text) => {
    const newline = text.indexOf("\n")
    if (newline < 0) return Result.fail("held record has no header line")
    let header: unknown
    let element: unknown
    const body = text.slice(newline + 1)
    try {
      header = JSON.parse(text.slice(0, newline))
    } catch (e) {
      return Result.fail(`held record header is not JSON: ${(e as Error).message}`)
    }
    if (!isHeader(header)) return Result.fail("held record header is not [topic, partition, offset, key, headers, index, job id, body kind]")
    const [topic, partition, offset, key, flatHeaders, index, inheritedJobId, kind] = header
    if (kind !== "text") return Result.fail(`held record has a ${kind} body, which no decoded record has`)
    try {
      element = JSON.parse(body)
    } catch (e) {
      return Result.fail(`held record is not JSON: ${(e as Error).message}`)
    }
    if (!isJsonObject(element)) return Result.fail("held record is not a JSON object")
    const withJob = inheritedJobId !== null && (element["job_id"] === undefined || element["job_id"] === null)
      ? { ...element, job_id: inheritedJobId }
      : element
    const headers: Record<string, string> = {}
    for (let i = 0; i + 1 < flatHeaders.length; i += 2) headers[flatHeaders[i]!] = flatHeaders[i + 1]!
    return Result.map(decode(withJob), (value) => ({
      value,
      source: { topic, partition, offset, key: key === null ? null : unb64(key), headers, value: body, index: index ?? undefined }
    }))
  }
})
