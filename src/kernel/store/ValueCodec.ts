/**
 * Changelog values of a store: `{"v":<format version>,"value":<JSON form>}`, plus `"t"`
 * (time of last write) for stores with retention. Decoding checks the version and the
 * Schema and reports what is wrong instead of throwing.
 */
import { Result, Schema } from "effect"
import { issueMessage } from "../source/SchemaIssueMessage.ts"
import type { StoreSpec } from "./StoreSpec.ts"

export interface StoredValue<V> {
  readonly value: V
  readonly writtenAt: number
}

export interface ValueCodec<V> {
  readonly encode: (value: V, writtenAt: number) => string
  readonly decode: (text: string) => Result.Result<StoredValue<V>, string>
}

export const make = <V>(spec: StoreSpec<any, V>): ValueCodec<V> => {
  const json = Schema.toCodecJson(spec.value)
  const encode = Schema.encodeSync(json)
  const decode = Schema.decodeUnknownResult(json)
  const version = spec.version ?? 1
  const timed = spec.ttl !== undefined
  return {
    encode: (value, writtenAt) => JSON.stringify(timed ? { v: version, t: writtenAt, value: encode(value) } : { v: version, value: encode(value) }),
    decode: (text) => {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch (e) {
        return Result.fail(`value is not JSON: ${(e as Error).message}`)
      }
      if (typeof parsed !== "object" || parsed === null || !("v" in parsed) || !("value" in parsed)) {
        return Result.fail("value is not a versioned store value ({\"v\":..,\"value\":..})")
      }
      const envelope = parsed as { readonly v: unknown; readonly t?: unknown; readonly value: unknown }
      if (envelope.v !== version) return Result.fail(`value has format version ${String(envelope.v)}, this store reads version ${version}`)
      const value = decode(envelope.value)
      if (Result.isFailure(value)) return Result.fail(issueMessage(value.failure.issue))
      return Result.succeed({ value: value.success, writtenAt: typeof envelope.t === "number" ? envelope.t : 0 })
    }
  }
}
