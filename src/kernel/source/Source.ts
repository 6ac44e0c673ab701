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
  /**
   * Decodes (and maps) the common shapes without the Schema interpreter, which costs more
   * than parsing the JSON. It must give the Schema's own answer or undefined when unsure;
   * the Schema then decides, so every failure is still worded by the Schema.
   */
  readonly fast?: ((element: JsonObject) => A | undefined) | undefined
  readonly deadLetterHeaders?: ((raw: JsonObject | undefined) => Headers | undefined) | undefined
}

export const make = <S extends DecodableSchema, A = S["Type"]>(options: SourceOptions<S, A>): Source<A> => {
  const decode = Schema.decodeUnknownResult(options.schema)
  const map = options.map ?? ((a: S["Type"]) => a as A)
  const fast = options.fast
  return {
    topic: options.topic,
    envelope: options.envelope,
    decodeElement: (element) => {
      const quick = fast?.(element)
      if (quick !== undefined) return Result.succeed(quick)
      const result = decode(element)
      return Result.isSuccess(result) ? Result.succeed(map(result.success)) : Result.fail(issueMessage(result.failure.issue))
    },
    deadLetterHeaders: options.deadLetterHeaders ?? (() => undefined)
  }
}

const rejection = (source: Source<unknown>, type: string, message: string, ref: SourceRef, raw: JsonObject | undefined): Rejected =>
  ({ reason: { type, message, headers: source.deadLetterHeaders(raw) }, source: ref, raw })

/** Where decoding hands each element, as it goes (no list of Results in between). */
export interface DecodeHandlers<A> {
  readonly element: (element: Element<A>) => void
  readonly rejected: (rejected: Rejected) => void
}

/**
 * An element's SourceRef; its JSON (the bytes of its dead letter) is written only if
 * something reads it, which the usual element, joined and counted within its batch, never does.
 */
const elementRef = (record: ConsumedRecord, index: number, element: unknown): SourceRef => {
  let json: string | undefined
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    headers: record.headers,
    get value() {
      return json ??= JSON.stringify(element)
    },
    index
  }
}

/** Decodes a record's elements in order, handing each to `handlers` as a value or a rejection. */
export const decodeEach = <A>(source: Source<A>, record: ConsumedRecord, handlers: DecodeHandlers<A>): void => {
  const parsed = parseJsonBytes(record.value)
  if (Result.isFailure(parsed)) return handlers.rejected(rejection(source, "invalid_json", parsed.failure, sourceRefOf(record), undefined))
  // Kept as text from here on: the same bytes, cheaper to hold in state than a byte array.
  const whole: SourceRef = {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: record.key,
    headers: record.headers,
    value: parsed.success.text,
    index: undefined
  }
  const json = parsed.success.value
  if (!isJsonObject(json)) return handlers.rejected(rejection(source, "schema", `message must be a JSON object, got ${describeJson(json)}`, whole, undefined))
  const envelope = source.envelope
  const elements = envelope === undefined ? undefined : json[envelope.field]
  if (envelope === undefined || elements === undefined) return decodeElement(source, json, whole, handlers)
  if (!Array.isArray(elements)) return handlers.rejected(rejection(source, "schema", `batch field "${envelope.field}" must be an array`, whole, json))
  for (let index = 0; index < elements.length; index++) {
    const element: unknown = elements[index]
    const ref = elementRef(record, index, element)
    if (!isJsonObject(element)) handlers.rejected(rejection(source, "schema", "batch element must be a JSON object", ref, json))
    else decodeElement(source, inherit(element, json, envelope.inherit), ref, handlers)
  }
}

/** One Result per element (see `decodeEach`). */
export const decode = <A>(source: Source<A>, record: ConsumedRecord): ReadonlyArray<Decoded<A>> => {
  const out: Array<Decoded<A>> = []
  decodeEach(source, record, {
    element: (element) => void out.push(Result.succeed(element)),
    rejected: (rejected) => void out.push(Result.fail(rejected))
  })
  return out
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

const decodeElement = <A>(source: Source<A>, element: JsonObject, ref: SourceRef, handlers: DecodeHandlers<A>): void => {
  const result = source.decodeElement(element)
  if (Result.isSuccess(result)) handlers.element({ value: result.success, source: ref })
  else handlers.rejected(rejection(source, "schema", result.failure, ref, element))
}
