/**
 * The first decoding step of every JSON topic: bytes -> strict UTF-8 -> JSON value.
 * Failures are values (never throws), with the message of an `invalid_json` dead letter.
 */
import { Result } from "effect"

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

export interface ParsedJson {
  readonly value: unknown
  /** The value's text: it is valid UTF-8, so these are exactly the original bytes. */
  readonly text: string
}

export const parseJsonBytes = (bytes: Uint8Array | null): Result.Result<ParsedJson, string> => {
  if (bytes === null) return Result.fail("record has no value (null)")
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return Result.fail("value is not valid UTF-8")
  }
  try {
    return Result.succeed({ value: JSON.parse(text), text })
  } catch (e) {
    return Result.fail(`value is not valid JSON: ${(e as Error).message}`)
  }
}

export type JsonObject = Readonly<Record<string, unknown>>

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `a JSON array`, `null`, `a number`...: what a value is, for messages. */
export const describeJson = (value: unknown): string =>
  Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`
