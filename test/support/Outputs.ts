/** Reading a replay's output topics the way a downstream consumer would. */
import type { ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"

const utf8 = new TextDecoder()

export const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : utf8.decode(bytes))

export const json = (r: ConsumedRecord): any => JSON.parse(text(r.value)!)

/** Deep copy with object keys sorted, so comparisons ignore key order but not values. */
export const sortKeys = (x: unknown): unknown => {
  if (Array.isArray(x)) return x.map(sortKeys)
  if (x !== null && typeof x === "object") {
    return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys((x as Record<string, unknown>)[k])]))
  }
  return x
}

export const countBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string | undefined): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const item of items) {
    const k = key(item)
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1
  }
  return out
}

/** The last aggregate with is_final of each job, without the fields expected.json leaves out. */
export const finalAggregates = (records: ReadonlyArray<ConsumedRecord>): Map<string, unknown> => {
  const out = new Map<string, unknown>()
  for (const r of records) {
    const { is_final, updated_at: _updatedAt, ...rest } = json(r)
    if (is_final === true) out.set(rest.job_id, sortKeys(rest))
  }
  return out
}
