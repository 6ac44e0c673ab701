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

/**
 * Composite keys of `n` strings, each but the last prefixed by its length
 * (`5:bench1:r1` for ["bench1","r1"]): unambiguous, and a string concatenation instead of
 * JSON on the hot path. For stores whose key texts never reach the changelog (packed
 * stores); decoding also accepts the JSON array form of `strings`, as older records have it.
 */
export const compactStrings = <const N extends number>(length: N): StoreKey<StringTuple<N>> => {
  const json = strings(length)
  const last = length - 1
  const codec: StoreKey<ReadonlyArray<string>> = {
    encode: length === 2
      ? (key) => `${key[0]!.length}:${key[0]}${key[1]}`
      : (key) => {
        let text = ""
        for (let i = 0; i < last; i++) text += `${key[i]!.length}:${key[i]}`
        return text + key[last]
      },
    decode: (text) => {
      if (text.startsWith("[")) return json.decode(text)
      const out: Array<string> = []
      let at = 0
      for (let i = 0; i < last; i++) {
        const colon = text.indexOf(":", at)
        const n = colon < 0 ? NaN : Number(text.slice(at, colon))
        if (!Number.isSafeInteger(n) || n < 0 || colon + 1 + n > text.length) return Result.fail(`expected ${length} length-prefixed strings`)
        out.push(text.slice(colon + 1, colon + 1 + n))
        at = colon + 1 + n
      }
      out.push(text.slice(at))
      return Result.succeed(out)
    }
  }
  return codec as unknown as StoreKey<StringTuple<N>>
}

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
