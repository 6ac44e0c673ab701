/**
 * A compacted changelog topic as a key-value store: writing is producing `key -> value`
 * (null deletes), restoring is reading the topic from the start and keeping the last
 * value of each key, exactly what log compaction would leave.
 */
import { Effect } from "effect"
import { KafkaClient, type ConsumedRecord, type OutgoingRecord } from "../kafka/KafkaPort.ts"

const utf8 = new TextDecoder()

export const put = (topic: string, key: string, value: string): OutgoingRecord => ({ topic, key, value })
export const remove = (topic: string, key: string): OutgoingRecord => ({ topic, key, value: null })

/** Last value per key in log order; deleted keys are absent. Records without a key are ignored. */
export const latestByKey = (records: Iterable<ConsumedRecord>): Map<string, string> => {
  const out = new Map<string, string>()
  for (const r of records) {
    if (r.key === null) continue
    const key = utf8.decode(r.key)
    if (r.value === null) out.delete(key)
    else {
      out.delete(key) // keep map order = order of last write
      out.set(key, utf8.decode(r.value))
    }
  }
  return out
}

/** Reads the whole changelog topic and compacts it in memory. */
export const restore = (topic: string) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    return latestByKey(yield* kafka.readAll(topic))
  })
