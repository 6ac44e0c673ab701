/**
 * The first decoding step of every JSON topic: bytes -> strict UTF-8 -> JSON value.
 * Failures are values (never throws), typed `invalid_json` per SPEC 3.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

export type JsonParse =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly message: string }

export const parseJsonBytes = (bytes: Uint8Array | null): JsonParse => {
  if (bytes === null) return { ok: false, message: "record has no value (null)" }
  let text: string
  try {
    text = strictUtf8.decode(bytes)
  } catch {
    return { ok: false, message: "value is not valid UTF-8" }
  }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (e) {
    return { ok: false, message: `value is not valid JSON: ${(e as Error).message}` }
  }
}

export const isJsonObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
