/**
 * The wire path's Kafka: the project's mock cluster (test/support/MockKafkaCluster.ts) with
 * the topics the service's plan (`npm run topics`) lists for the mode, the inputs spread over
 * enough partitions that the mock's ~5 MB log per partition keeps every input record, inputs
 * produced by kcat, and the changelog counted.
 */
import { execFile, spawn } from "node:child_process"
import { once } from "node:events"
import { promisify } from "node:util"
import { Kafka, logLevel } from "kafkajs"
import type { PlannedTopic } from "../src/kernel/kafka/TopicSetup.ts"
import { type MockKafkaCluster, serviceMockTopics, startMockKafkaCluster } from "../test/support/MockKafkaCluster.ts"
import type { ModeName } from "./BenchArgs.ts"
import { caseLines, type CaseSize, count, newTally, type InputTally } from "./BenchCase.ts"

const execFileAsync = promisify(execFile)

export const APPLICATION_ID = "bench-aggregator"
export const TOPICS = {
  transform: "realtime-review-transform-topic",
  analysis: "realtime-review-analysis-topic",
  control: "job-control-topic",
  rows: "review-rows",
  agg: "review-agg-by-job",
  dlq: "review-dlq"
} as const
/** Partitions for `bytes` with 3 MiB each: the mock keeps about 5 MB per partition and drops the oldest beyond. */
const partitionsFor = (bytes: number): number => Math.min(1_000, Math.max(64, Math.ceil(bytes / (3 * 2 ** 20))))
/** About 800 B of transform input per review. */
const inputPartitions = (size: CaseSize): number => partitionsFor(size.reviews * 800)
/**
 * About 2 KB of changelog per review today. Only a key written very often (a job's snapshot)
 * then overflows its partition, whose records are alike, so extrapolating its bytes is fair.
 */
const changelogPartitions = (size: CaseSize): number => partitionsFor(size.reviews * 2_500)

/**
 * Why the mock cannot hold a case co-partitioned, or undefined. The repartition stage writes
 * all of a job's records to one partition of each repartition topic, and the mock drops the
 * oldest records of a partition beyond ~5 MB whether read or not, so a large job loses
 * records before the review task reads them and never finishes.
 */
export const coPartitionedMisfit = (size: CaseSize): string | undefined => {
  const jobBytes = size.reviewsPerJob * 800
  return jobBytes <= 3 * 2 ** 20
    ? undefined
    : `${size.case} has ${size.reviewsPerJob.toLocaleString("en")} reviews in one job, about ${(jobBytes / 1e6).toFixed(0)} MB in one ` +
      `partition of each repartition topic, where the mock cluster keeps ~5 MB; use --case many-jobs, or at most ` +
      `${Math.floor((3 * 2 ** 20) / 800).toLocaleString("en")} reviews`
}

export interface WireCluster {
  readonly cluster: MockKafkaCluster
  readonly kafka: Kafka
  readonly mode: ModeName
  /** Partitions of each input topic. */
  readonly partitions: number
  readonly stop: () => Promise<void>
}

/**
 * Partitions by the setting that names the topic. Co-partitioned, the service refuses inputs
 * of unequal counts (the control topic too) and task topics (repartition, changelog: those
 * named after APPLICATION_ID) of unequal counts; single-active keeps one control partition.
 */
const partitionsOf = (size: CaseSize, mode: ModeName) => (t: PlannedTopic): number => {
  switch (t.variable) {
    case "INPUT_TRANSFORM_TOPIC":
    case "INPUT_ANALYSIS_TOPIC":
      return inputPartitions(size)
    case "CONTROL_TOPIC":
      return mode === "co-partitioned" ? inputPartitions(size) : 1
    case "OUTPUT_ROWS_TOPIC":
      return 8
    case "OUTPUT_AGG_TOPIC":
      return 2
    case "DLQ_TOPIC":
      return 1
    case "APPLICATION_ID":
      // A repartition topic holds about its input's bytes, a changelog more: the larger count fits both.
      return Math.max(inputPartitions(size), changelogPartitions(size))
    default:
      throw new Error(`the wire bench has no partition count for '${t.topic}' (${t.variable}), a topic new to the service's plan`)
  }
}

export const startWireCluster = async (size: CaseSize, mode: ModeName): Promise<WireCluster> => {
  const topics = await serviceMockTopics({ APPLICATION_ID, PARTITION_ASSIGNMENT: mode }, partitionsOf(size, mode))
  const names = new Set(topics.map((t) => t.name))
  const unplanned = Object.values(TOPICS).filter((t) => !names.has(t))
  if (unplanned.length > 0) throw new Error(`the service's topic plan no longer lists ${unplanned.join(", ")}; bench/WireCluster.ts TOPICS needs updating`)
  const cluster = await startMockKafkaCluster({ topics })
  const kafka = new Kafka({ clientId: "bench", brokers: [...cluster.brokers], logLevel: logLevel.NOTHING })
  return { cluster, kafka, mode, partitions: inputPartitions(size), stop: () => cluster.stop() }
}

/** A kcat producer spreading unkeyed messages over the partitions (each message to a random one). */
const kcatProducer = (bootstrap: string, topic: string) => {
  const child = spawn("kcat", ["-P", "-b", bootstrap, "-t", topic, "-X", "sticky.partitioning.linger.ms=0", "-X", "linger.ms=20"], {
    stdio: ["pipe", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4_000)))
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve))
  let chunk: Array<Uint8Array> = []
  let chunkBytes = 0
  const flush = async () => {
    if (chunk.length === 0) return
    const ok = child.stdin.write(Buffer.concat(chunk))
    chunk = []
    chunkBytes = 0
    if (!ok) await once(child.stdin, "drain")
  }
  return {
    send: async (value: Uint8Array) => {
      chunk.push(value, NEWLINE)
      chunkBytes += value.byteLength + 1
      if (chunkBytes >= 256 * 1024) await flush()
    },
    end: async () => {
      await flush()
      child.stdin.end()
      const code = await exited
      if (code !== 0) throw new Error(`kcat -P ${topic} exited ${code}: ${stderr}`)
    }
  }
}
const NEWLINE = new Uint8Array([0x0a])

/** Every end and start offset of a topic's partitions. */
const offsetsOf = async (kafka: Kafka, topic: string) => {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) }))
  } finally {
    await admin.disconnect()
  }
}

/**
 * Produces the case's inputs with kcat: every collection message first, then the transform
 * and analysis messages, and checks that the cluster holds all of them.
 */
export const produceInputs = async (wire: WireCluster, size: CaseSize): Promise<InputTally> => {
  const { bootstrap } = wire.cluster
  const tally = newTally()
  const control = kcatProducer(bootstrap, TOPICS.control)
  for (const line of caseLines(size)) if (line.topic === "control") await control.send(line.value)
  await control.end()
  const producers = { transform: kcatProducer(bootstrap, TOPICS.transform), analysis: kcatProducer(bootstrap, TOPICS.analysis) }
  for (const line of caseLines(size)) {
    count(tally, line)
    if (line.topic !== "control") await producers[line.topic].send(line.value)
  }
  await Promise.all([producers.transform.end(), producers.analysis.end()])
  for (const topic of ["transform", "analysis", "control"] as const) {
    const offsets = await offsetsOf(wire.kafka, TOPICS[topic])
    const held = offsets.reduce((n, o) => n + o.high - o.low, 0)
    if (held !== tally.perTopic[topic].messages) {
      throw new Error(`the mock cluster holds ${held} of the ${tally.perTopic[topic].messages} messages produced to ${TOPICS[topic]} (it keeps ~5 MB per partition)`)
    }
  }
  return tally
}

/** The store a changelog key belongs to: its `<store>|` prefix (a topic shared by several stores). */
const storeOf = (key: string): string => {
  const bar = key.indexOf("|")
  return bar > 0 ? key.slice(0, bar) : "(unprefixed)"
}

/**
 * Key + value bytes of the records a partition still holds, read with kcat (null key or
 * value: 0), in all and per store. The key is printed last: a line that does not start
 * with two sizes (a key with a line break in it) is skipped for the per-store tally only.
 */
const partitionBytes = async (bootstrap: string, topic: string, partition: number) => {
  const { stdout } = await execFileAsync("kcat", ["-C", "-b", bootstrap, "-t", topic, "-p", String(partition), "-e", "-q", "-f", "%K %S %k\n"], {
    maxBuffer: 256 * 2 ** 20,
    timeout: 600_000
  })
  let bytes = 0
  const byStore = new Map<string, number>()
  for (const line of stdout.split("\n")) {
    const match = /^(-?\d+) (-?\d+) (.*)$/.exec(line)
    if (match === null) continue
    const size = Math.max(0, Number(match[1])) + Math.max(0, Number(match[2]))
    bytes += size
    const store = storeOf(match[3]!)
    byStore.set(store, (byStore.get(store) ?? 0) + size)
  }
  return { bytes, byStore }
}

/** Runs `work` on every item, at most `limit` at a time. */
const inParallel = async <A, B>(items: ReadonlyArray<A>, limit: number, work: (a: A) => Promise<B>): Promise<Array<B>> => {
  const results: Array<B> = []
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await work(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/**
 * Records and bytes (key + value) the service wrote to its changelog topics. Records are the
 * end offsets (exact even where the mock dropped old records); bytes are read with kcat, a
 * partition at a time and several at once (the mock answers a fetch with one produced batch
 * per partition, so one reader is slow), and where the mock dropped old records of a
 * partition, extrapolated from the ones it kept there.
 */
export const countChangelog = async (wire: WireCluster) => {
  const admin = wire.kafka.admin()
  await admin.connect()
  const topics = (await admin.listTopics().finally(() => admin.disconnect()))
    .filter((t) => t.startsWith(`${APPLICATION_ID}-`) && t.endsWith("-changelog"))
    .sort()
  const partitions = (await Promise.all(topics.map(async (topic) => (await offsetsOf(wire.kafka, topic)).map((o) => ({ topic, ...o }))))).flat()
  const held = partitions.filter((p) => p.high > p.low)
  const read = await inParallel(held, 16, (p) => partitionBytes(wire.cluster.bootstrap, p.topic, p.partition))
  // Each store's share of the bytes read (records the mock dropped are not there to tell).
  const byStore = new Map<string, number>()
  for (const { byStore: partition } of read) for (const [store, n] of partition) byStore.set(store, (byStore.get(store) ?? 0) + n)
  const readBytes = read.reduce((n, r) => n + r.bytes, 0)
  return {
    topics,
    partitions: partitions.length,
    records: partitions.reduce((n, p) => n + p.high, 0),
    bytes: Math.round(held.reduce((n, p, i) => n + (read[i]!.bytes / (p.high - p.low)) * p.high, 0)),
    shareByStore: Object.fromEntries([...byStore].sort(([, a], [, b]) => b - a).map(([store, n]) => [store, readBytes > 0 ? n / readBytes : 0])),
    extrapolated: partitions.some((p) => p.low > 0)
  }
}
