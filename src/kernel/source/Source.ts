/**
 * A typed source: a topic, the Schema of its values and, optionally, a batch envelope
 * (`{"<field>": [element...], ...fields the elements inherit}`). Decoding a record gives
 * one Result per element: the decoded value, or what to dead-letter and why. Decoding
 * never throws.
 */
import { Result, Schema } from "effect"
import type { ConsumedRecord, Headers } from "../kafka/KafkaPort.ts"
import { sourceRefOf, type DeadLetterReason, type SourceRef } from "./DeadLetter.ts"
import { describeJson, isJsonObject, parseJsonBytes, type JsonObject } from "./JsonMessage.ts"
import { issueMessage } from "./SchemaIssueMessage.ts"

export interface Envelope {
  /** Field holding the elements, e.g. `reviews`. */
  readonly field: string
  /** Fields an element takes from its envelope when it has none (or null), e.g. `job_id`. */
  readonly inherit: ReadonlyArray<string>
}

export interface Source<A> {
  readonly topic: string
  readonly envelope: Envelope | undefined
  readonly decodeElement: (element: JsonObject) => Result.Result<A, string>
  /** Extra dead-letter headers the domain reads from an element it could not use. */
  readonly deadLetterHeaders: (raw: JsonObject | undefined) => Headers | undefined
}

export interface Element<A> {
  readonly value: A
  readonly source: SourceRef
}

export interface Rejected {
  readonly reason: DeadLetterReason
  readonly source: SourceRef
  /** The element as parsed (with inherited fields), when it was a JSON object. */
  readonly raw: JsonObject | undefined
}

export type Decoded<A> = Result.Result<Element<A>, Rejected>

type DecodableSchema = Schema.Top & { readonly DecodingServices: never }

export interface SourceOptions<S extends DecodableSchema, A> {
  readonly topic: string
  readonly schema: S
  readonly envelope?: Envelope | undefined
  /** Turns the decoded value into what the pipeline works with (default: as decoded). */
  readonly map?: ((decoded: S["Type"]) => A) | undefined
  readonly deadLetterHeaders?: ((raw: JsonObject | undefined) => Headers | undefined) | undefined
}

export const make = <S extends DecodableSchema, A = S["Type"]>(options: SourceOptions<S, A>): Source<A> => {
  const decode = Schema.decodeUnknownResult(options.schema)
  const map = options.map ?? ((a: S["Type"]) => a as A)
  return {
    topic: options.topic,
    envelope: options.envelope,
    decodeElement: (element) => {
      const result = decode(element)
      return Result.isSuccess(result) ? Result.succeed(map(result.success)) : Result.fail(issueMessage(result.failure.issue))
    },
    deadLetterHeaders: options.deadLetterHeaders ?? (() => undefined)
  }
}

const reject = (source: Source<unknown>, type: string, message: string, ref: SourceRef, raw: JsonObject | undefined): Result.Result<never, Rejected> =>
  Result.fail({ reason: { type, message, headers: source.deadLetterHeaders(raw) }, source: ref, raw })

export const decode = <A>(source: Source<A>, record: ConsumedRecord): ReadonlyArray<Decoded<A>> => {
  const parsed = parseJsonBytes(record.value)
  if (Result.isFailure(parsed)) return [reject(source, "invalid_json", parsed.failure, sourceRefOf(record), undefined)]
  // Kept as text from here on: the same bytes, cheaper to hold in state than a byte array.
  const whole: SourceRef = { ...sourceRefOf(record), value: parsed.success.text }
  const json = parsed.success.value
  if (!isJsonObject(json)) return [reject(source, "schema", `message must be a JSON object, got ${describeJson(json)}`, whole, undefined)]
  const envelope = source.envelope
  const elements = envelope === undefined ? undefined : json[envelope.field]
  if (envelope === undefined || elements === undefined) return [decodeElement(source, json, whole)]
  if (!Array.isArray(elements)) return [reject(source, "schema", `batch field "${envelope.field}" must be an array`, whole, json)]
  return elements.map((element, index) => {
    const ref = sourceRefOf(record, { index, json: JSON.stringify(element) })
    if (!isJsonObject(element)) return reject(source, "schema", "batch element must be a JSON object", ref, json)
    return decodeElement(source, inherit(element, json, envelope.inherit), ref)
  })
}

const inherit = (element: JsonObject, envelope: JsonObject, fields: ReadonlyArray<string>): JsonObject => {
  let merged = element
  for (const field of fields) {
    if ((element[field] === undefined || element[field] === null) && envelope[field] !== undefined) {
      if (merged === element) merged = { ...element }
      ;(merged as Record<string, unknown>)[field] = envelope[field]
    }
  }
  return merged
}

const decodeElement = <A>(source: Source<A>, element: JsonObject, ref: SourceRef): Decoded<A> => {
  const result = source.decodeElement(element)
  return Result.isSuccess(result)
    ? Result.succeed({ value: result.success, source: ref })
    : reject(source, "schema", result.failure, ref, element)
}
