/**
 * How a store's keys become changelog keys (text) and back. A key codec is fast on the
 * hot path (plain strings and string tuples need no Schema machinery) and strict at
 * restore, where a key that does not decode is reported and skipped.
 */
import { Result, Schema } from "effect"

export interface StoreKey<K> {
  readonly encode: (key: K) => string
  readonly decode: (text: string) => Result.Result<K, string>
}

/** Keys that are strings already (ids). */
export const string: StoreKey<string> = {
  encode: (key) => key,
  decode: (text) => Result.succeed(text)
}

const isStrings = (u: unknown, length: number): u is ReadonlyArray<string> =>
  Array.isArray(u) && u.length === length && u.every((s) => typeof s === "string")

/**
 * Composite keys of `n` strings, as a JSON array: unambiguous whatever the ids contain
 * (`["a|b","c"]` and `["a","b|c"]` stay distinct).
 */
export const strings = <const N extends number>(length: N): StoreKey<StringTuple<N>> => ({
  encode: (key) => JSON.stringify(key),
  decode: (text) => {
    try {
      const parsed: unknown = JSON.parse(text)
      return isStrings(parsed, length) ? Result.succeed(parsed as StringTuple<N>) : Result.fail(`expected a JSON array of ${length} strings`)
    } catch (e) {
      return Result.fail(`key is not JSON: ${(e as Error).message}`)
    }
  }
})

export type StringTuple<N extends number, Acc extends ReadonlyArray<string> = readonly []> = Acc["length"] extends N
  ? Acc
  : StringTuple<N, readonly [...Acc, string]>

/** Any key with a Schema whose encoded form is a string. */
export const schema = <K>(codec: Schema.Codec<K, string>): StoreKey<K> => {
  const encode = Schema.encodeSync(codec)
  const decode = Schema.decodeUnknownResult(codec)
  return {
    encode: (key) => encode(key),
    decode: (text) => Result.mapError(decode(text), (e) => e.message)
  }
}
