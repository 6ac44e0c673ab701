/**
 * Adapts an effect Schema to the element decoder of a TypedSource: the result is a
 * value, and a failure message names the offending field (`rating: Expected ...`).
 */
import { Result, Schema } from "effect"
import type { ElementDecode } from "./TypedSource.ts"

const formatIssue = (message: string): string => {
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)
  const at = lines.find((l) => l.startsWith("at "))
  const what = lines.filter((l) => !l.startsWith("at ")).join("; ")
  if (at === undefined) return what
  const path = [...at.slice(3).matchAll(/\["?([^"\]]*)"?\]/g)].map((m) => m[1]).join(".")
  return `${path}: ${what}`
}

export const schemaDecoder = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (input: unknown): ElementDecode<S["Type"]> => {
    const result = decode(input)
    return Result.isSuccess(result)
      ? { ok: true, value: result.success }
      : { ok: false, message: formatIssue(result.failure.message) }
  }
}
