/**
 * Changelog values of a store. A store with a `text` form writes `<version>|[<t>|]<text>`;
 * any other store writes `{"v":<format version>,"value":<JSON form>}`, plus `"t"` (time of
 * last write) for stores with retention. Either form is read, so records written before a
 * store gained its text form still restore. Decoding reports what is wrong, never throws.
 */
import { Result, Schema } from "effect"
import { issueMessage } from "../source/SchemaIssueMessage.ts"
import type { StoreSpec } from "./StoreSpec.ts"

export interface StoredValue<V> {
  readonly value: V
  readonly writtenAt: number
}

export interface ValueCodec<V> {
  readonly version: number
  readonly encode: (value: V, writtenAt: number) => string
  readonly decode: (text: string) => Result.Result<StoredValue<V>, string>
  /** The value alone (no version, no time), as packed chunks hold it. */
  readonly encodePayload: (value: V) => string
  readonly decodePayload: (payload: string) => Result.Result<V, string>
}

/** Reads `<digits>|` at `from`: the number and where the rest starts, or undefined. */
export const readNumberField = (text: string, from: number, end = "|"): { readonly n: number; readonly next: number } | undefined => {
  const bar = text.indexOf(end, from)
  if (bar <= from) return undefined
  const field = text.slice(from, bar)
  if (!/^-?\d+$/.test(field)) return undefined
  return { n: Number(field), next: bar + 1 }
}

export const make = <V>(spec: StoreSpec<any, V>): ValueCodec<V> => {
  const json = Schema.toCodecJson(spec.value)
  const encodeJson = Schema.encodeSync(json)
  const decodeJson = Schema.decodeUnknownResult(json)
  const version = spec.version ?? 1
  const timed = spec.ttl !== undefined
  const text = spec.text
  // A plain number's JSON form is itself: no Schema round trip on the hot path. An off-heap
  // store's values are such numbers too (its table refuses any other), whatever Schema
  // narrows them for restore.
  const plainNumber = spec.value === (Schema.Number as unknown) || spec.offHeap === true
  const jsonOf = plainNumber
    ? (value: V) => (Number.isFinite(value as number) ? value : encodeJson(value))
    : (value: V) => encodeJson(value)
  const fromJson = (u: unknown): Result.Result<V, string> => {
    const value = decodeJson(u)
    return Result.isFailure(value) ? Result.fail(issueMessage(value.failure.issue)) : Result.succeed(value.success)
  }
  const parse = (payload: string): Result.Result<unknown, string> => {
    try {
      return Result.succeed(JSON.parse(payload))
    } catch (e) {
      return Result.fail(`value is not JSON: ${(e as Error).message}`)
    }
  }
  const encodePayload = text !== undefined ? text.encode : (value: V) => JSON.stringify(jsonOf(value))
  const decodePayload = text !== undefined ? text.decode : (payload: string) => Result.flatMap(parse(payload), fromJson)

  const decodeEnvelope = (raw: string): Result.Result<StoredValue<V>, string> => {
    const parsed = parse(raw)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    const envelope = parsed.success
    if (typeof envelope !== "object" || envelope === null || !("v" in envelope) || !("value" in envelope)) {
      return Result.fail("value is not a versioned store value ({\"v\":..,\"value\":..})")
    }
    const { v, t, value } = envelope as { readonly v: unknown; readonly t?: unknown; readonly value: unknown }
    if (v !== version) return Result.fail(`value has format version ${String(v)}, this store reads version ${version}`)
    return Result.map(fromJson(value), (decoded) => ({ value: decoded, writtenAt: typeof t === "number" ? t : 0 }))
  }

  const decodeText = (raw: string): Result.Result<StoredValue<V>, string> => {
    const v = readNumberField(raw, 0)
    if (v === undefined) return Result.fail("value is neither {\"v\":..,\"value\":..} nor <version>|<text>")
    if (v.n !== version) return Result.fail(`value has format version ${v.n}, this store reads version ${version}`)
    let writtenAt = 0
    let at = v.next
    if (timed) {
      const t = readNumberField(raw, at)
      if (t === undefined) return Result.fail("value lacks its time of last write (<version>|<t>|<text>)")
      writtenAt = t.n
      at = t.next
    }
    return Result.map(text!.decode(raw.slice(at)), (value) => ({ value, writtenAt }))
  }

  return {
    version,
    encode: text !== undefined
      ? (value, writtenAt) => `${version}|${timed ? `${writtenAt}|` : ""}${text.encode(value)}`
      : (value, writtenAt) => JSON.stringify(timed ? { v: version, t: writtenAt, value: jsonOf(value) } : { v: version, value: jsonOf(value) }),
    decode: (raw) => (raw.startsWith("{") || text === undefined ? decodeEnvelope(raw) : decodeText(raw)),
    encodePayload,
    decodePayload
  }
}
