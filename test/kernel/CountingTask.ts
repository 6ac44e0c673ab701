/**
 * A generic stateful perPartition task for the scale-out tests: counts records per record
 * key over two co-partitioned topics; every tenth record of a key rolls its count over
 * (deleting it: a tombstone) into a second store, so the final state does not depend on
 * the order the two topics are handled in, and every record emits the key's running total.
 */
import { Schema } from "effect"
import type { ConsumedRecord, KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"
import type { TaskDefinition } from "../../src/kernel/runtime/Task.ts"
import { isEventMarker } from "../../src/kernel/runtime/TaskInstance.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"
import { changelogTopic, type StoreSpec } from "../../src/kernel/store/StoreSpec.ts"

export const inputs = ["clicks", "views"] as const
export const countsSpec: StoreSpec<string, number> = { name: "counts", key: StoreKey.string, value: Schema.Int }
export const rolloversSpec: StoreSpec<string, number> = { name: "rollovers", key: StoreKey.string, value: Schema.Int }
export const ROLLOVER = 10

const utf8 = new TextDecoder()

export const countingTask = (punctuated: (taskId: number) => void = () => {}): TaskDefinition<never> => ({
  name: "counting",
  topics: [...inputs],
  stores: [countsSpec, rolloversSpec],
  partitioning: "perPartition",
  punctuateEveryMs: 20,
  make: (stores, taskId) => {
    const counts = stores.get(countsSpec)
    const rollovers = stores.get(rolloversSpec)
    return {
      process: (record, ctx) => {
        const key = utf8.decode(record.key!)
        const count = (counts.get(key) ?? 0) + 1
        const rolled = rollovers.get(key) ?? 0
        if (count === ROLLOVER) {
          counts.delete(key)
          rollovers.put(key, rolled + 1)
        } else {
          counts.put(key, count)
        }
        ctx.emit({ topic: "counted", key, value: String(rolled * ROLLOVER + count) })
      },
      punctuate: () => punctuated(taskId)
    }
  }
})

/** The changelog topics of the counting task, compacted, with `partitions` partitions like its inputs. */
export const topicSpecs = (applicationId: string, partitions: number) => [
  ...inputs.map((topic) => ({ topic, partitions, replicationFactor: 1 })),
  ...[countsSpec, rolloversSpec].map((spec) => ({
    topic: changelogTopic(applicationId, spec),
    partitions,
    replicationFactor: 1,
    config: { "cleanup.policy": "compact" }
  }))
] satisfies Parameters<KafkaClient["Service"]["createTopics"]>[0]

/** Records per key in `topics`' records. */
export const perKey = (records: ReadonlyArray<ConsumedRecord>): Map<string, number> => {
  const out = new Map<string, number>()
  for (const r of records) out.set(utf8.decode(r.key!), (out.get(utf8.decode(r.key!)) ?? 0) + 1)
  return out
}

/** A changelog folded as a restore would: last value per key, tombstones delete, markers skipped. */
export const folded = (records: ReadonlyArray<ConsumedRecord>): Record<string, number> => {
  const state = new Map<string, number>()
  for (const r of records) {
    if (isEventMarker(r)) continue
    const key = utf8.decode(r.key!)
    if (r.value === null) state.delete(key)
    else state.set(key, (JSON.parse(utf8.decode(r.value)) as { readonly value: number }).value)
  }
  return Object.fromEntries([...state].sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** What the counting task's state must end as after `counted` records per key. */
export const expectedState = (counted: ReadonlyMap<string, number>) => {
  const counts: Record<string, number> = {}
  const rollovers: Record<string, number> = {}
  for (const [key, n] of [...counted].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (n % ROLLOVER > 0) counts[key] = n % ROLLOVER
    if (n >= ROLLOVER) rollovers[key] = Math.floor(n / ROLLOVER)
  }
  return { counts, rollovers }
}
