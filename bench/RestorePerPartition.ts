/**
 * Benchmark: what a member pays when it is assigned one partition (co-partitioned
 * scale-out): reading that partition of the changelog from the embedded broker
 * (compacted read) and restoring the task's store from it, through the runtime's own
 * assignment path. Prints the time per run and per 100k records.
 *
 *   node --import tsx bench/RestorePerPartition.ts [records] [partitions]
 *   (defaults: 100000 changelog records in the restored partition, 4 partitions all as full)
 */
import { Effect, Schema } from "effect"
import * as EmbeddedKafka from "../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient } from "../src/kernel/kafka/KafkaPort.ts"
import { OwnedTasks } from "../src/kernel/runtime/OwnedTasks.ts"
import * as RuntimeMetrics from "../src/kernel/runtime/RuntimeMetrics.ts"
import type { TaskDefinition } from "../src/kernel/runtime/Task.ts"
import * as StoreKey from "../src/kernel/store/StoreKey.ts"
import { changelogTopic, type StoreSpec } from "../src/kernel/store/StoreSpec.ts"
import { TaskHarness } from "../src/kernel/testing/TaskHarness.ts"

const refuse = (problem: string): never => {
  console.error(`error: ${problem}\nusage: node --import tsx bench/RestorePerPartition.ts [records] [partitions]`)
  return process.exit(1)
}
const records = Number(process.argv[2] ?? 100_000)
const partitions = Number(process.argv[3] ?? 4)
if (!Number.isSafeInteger(records) || records <= 0) refuse(`records must be a positive integer, got "${process.argv[2]}"`)
if (!Number.isSafeInteger(partitions) || partitions <= 0) refuse(`partitions must be a positive integer, got "${process.argv[3]}"`)
const EVENT = 1_000
const RUNS = 5

const counts: StoreSpec<string, number> = { name: "counts", key: StoreKey.string, value: Schema.Int }
const task: TaskDefinition<never> = {
  name: "restore-bench",
  topics: ["input"],
  stores: [counts],
  partitioning: "perPartition",
  make: (stores) => {
    const store = stores.get(counts)
    return { process: (record) => store.put(new TextDecoder().decode(record.key!), 1) }
  }
}
const settings = { applicationId: "bench", dlqTopic: "dlq" }
const topic = changelogTopic(settings.applicationId, counts)

const program = Effect.gen(function*() {
  const kafka = yield* KafkaClient
  yield* kafka.createTopics([{ topic, partitions, replicationFactor: 1, config: { "cleanup.policy": "compact" } }])
  // Each partition's changelog as its task writes it: `records` distinct keys, in framed events of EVENT records.
  for (let partition = 0; partition < partitions; partition++) {
    const harness = new TaskHarness(task, settings, partition)
    for (let from = 0; from < records; from += EVENT) {
      const keys = Array.from({ length: Math.min(EVENT, records - from) }, (_, i) => `p${partition}-key-${from + i}`)
      yield* kafka.produce(harness.event(keys.map((key) => ({ topic: "input", key, value: "x" }))).changelog)
    }
  }
  const times: Array<number> = []
  for (let run = 0; run < RUNS; run++) {
    const owned = new OwnedTasks(task, settings, RuntimeMetrics.make("bench"), true)
    const started = performance.now()
    const [restored] = yield* owned.assign([0])
    times.push(performance.now() - started)
    if (restored!.stores[0]!.size !== records) throw new Error(`restored ${restored!.stores[0]!.size} entries, expected ${records}`)
  }
  const sorted = [...times].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(`restore of one partition (of ${partitions}) holding ${records} changelog records, ${RUNS} runs`)
  console.log(`  runs (ms): ${times.map((t) => t.toFixed(0)).join(", ")}`)
  console.log(`  median: ${median.toFixed(0)} ms, ${(median * 100_000 / records).toFixed(0)} ms per 100k records, ${(records / median * 1000).toFixed(0)} records/s`)
})

Effect.runPromise(program.pipe(Effect.provide(EmbeddedKafka.layer()))).catch((error) => {
  console.error(error)
  process.exit(1)
})
