/**
 * The service on the mock Kafka cluster for wire tests: a cluster with its topics for a
 * suite, the service's settings there, generated jobs to feed it, and checks of what it
 * committed and wrote by independent clients (kafkajs admin, kcat).
 */
import { spawn } from "node:child_process"
import { Kafka, logLevel } from "kafkajs"
import { afterAll, beforeAll, expect } from "vitest"
import { generateJob, type GeneratedJob } from "../../src/app/ReviewGenerator.ts"
import type { ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import type { PlannedTopic } from "../../src/kernel/kafka/TopicSetup.ts"
import { repartitionTopic } from "../../src/kernel/topology/Repartition.ts"
import { repartitionGroup } from "../../src/review/RepartitionStage.ts"
import { kcatRead } from "../support/Kcat.ts"
import { MOCK_CONSUMER_SETTINGS, type MockKafkaCluster, type MockTopic, serviceMockTopics, startMockKafkaCluster } from "../support/MockKafkaCluster.ts"
import { countBy, finalAggregates, json, sortKeys, text } from "../support/Outputs.ts"
import { loadExpected } from "../support/Samples.ts"
import { killServices, type ServiceEnv, type ServiceProcess, startService } from "../support/ServiceProcess.ts"

const inputTopics = {
  transform: "realtime-review-transform-topic",
  analysis: "realtime-review-analysis-topic",
  control: "job-control-topic"
} as const

/** The names of every topic the service reads and writes under `applicationId`. */
export const serviceTopicNames = (applicationId: string) => ({
  ...inputTopics,
  rows: "review-rows",
  agg: "review-agg-by-job",
  dlq: "review-dlq",
  changelog: `${applicationId}-job-state-changelog`
} as const)

/** Partitions on the mock, by the setting that names the topic: inputs spread over partitions, outputs fewer. */
const mockPartitions: Readonly<Record<string, number>> = {
  INPUT_TRANSFORM_TOPIC: 3,
  INPUT_ANALYSIS_TOPIC: 3,
  // One partition keeps a job's control messages in order, as the collector's job_id key would.
  CONTROL_TOPIC: 1,
  OUTPUT_ROWS_TOPIC: 2,
  OUTPUT_AGG_TOPIC: 2
}

/**
 * How a suite's services share the partitions: scaled out (the default, docs/scale-out.md:
 * the repartition stage and the co-partitioned review task, `partitions` for the topics
 * named after APPLICATION_ID), or `single-active` (one member holds everything).
 */
export type Assignment = { readonly partitions: number } | "single-active"

/** Scaled out with as many task partitions as the inputs have. */
const defaultAssignment: Assignment = { partitions: 3 }

const assignmentEnv = (assignment: Assignment): ServiceEnv =>
  assignment === "single-active"
    ? { PARTITION_ASSIGNMENT: "single-active" }
    : { PARTITION_ASSIGNMENT: "co-partitioned", TOPIC_PARTITIONS: String(assignment.partitions) }

/** Scaled out: the topics named after APPLICATION_ID (repartition, changelog) get `partitions`. */
const scaledOutPartitions = (t: PlannedTopic, { partitions }: { readonly partitions: number }): number | undefined =>
  t.variable === "APPLICATION_ID"
    ? partitions
    // The repartition stage reads its three inputs co-partitioned, which refuses unequal counts: the control topic as many as the others.
    : t.variable === "CONTROL_TOPIC"
    ? mockPartitions["INPUT_TRANSFORM_TOPIC"]
    : undefined

/** The topics `npm run topics` lists, as the mock cluster must pre-create them; one partition each with `onePartition` (one order for all a test sends). */
const serviceTopics = (applicationId: string, onePartition: boolean, assignment: Assignment): Promise<ReadonlyArray<MockTopic>> =>
  serviceMockTopics(
    { APPLICATION_ID: applicationId, PARTITION_ASSIGNMENT: assignment === "single-active" ? "single-active" : "co-partitioned" },
    (t) => (onePartition ? 1 : (assignment === "single-active" ? undefined : scaledOutPartitions(t, assignment)) ?? mockPartitions[t.variable] ?? 1)
  )

/** The service's settings on the mock: the coordinator's quick rejoins (MockKafkaCluster.ts), quiet kafkajs, no traces. */
const onMockCluster = (bootstrap: string, applicationId: string): ServiceEnv => ({
  BOOTSTRAP_SERVERS: bootstrap,
  APPLICATION_ID: applicationId,
  KAFKA_SESSION_TIMEOUT_MS: String(MOCK_CONSUMER_SETTINGS.sessionTimeout),
  KAFKA_REBALANCE_TIMEOUT_MS: String(MOCK_CONSUMER_SETTINGS.rebalanceTimeout),
  KAFKA_HEARTBEAT_INTERVAL_MS: String(MOCK_CONSUMER_SETTINGS.heartbeatInterval),
  KAFKA_LOG_LEVEL: "warn",
  SHUTDOWN_TIMEOUT_MS: "5000",
  OTEL_SDK_DISABLED: "true"
})

export interface InputOffset {
  readonly topic: string
  readonly partition: number
  /** The consumer group reading it: the service's, or scaled out its repartition stage's for the inputs. */
  readonly group: string
  /** 0 where the group never committed (right for a partition that never had a record). */
  readonly committed: number
  readonly end: number
}

export interface ServiceCluster {
  readonly cluster: MockKafkaCluster
  /** A kafkajs client on the cluster, for checks independent of the service. */
  readonly kafka: Kafka
  /** Starts the service on the cluster, `env` over its settings there. */
  readonly start: (env?: ServiceEnv) => Promise<ServiceProcess>
  /** The service group's committed offset and the end offset of each input partition (scaled out: of each repartition partition too). */
  readonly inputOffsets: () => Promise<ReadonlyArray<InputOffset>>
  /** The same, summed over the input partitions. */
  readonly committedAndEnd: () => Promise<{ readonly committed: number; readonly end: number }>
  /** Produces the jobs' inputs with kcat: control first, so each job's collection message precedes its records. */
  readonly produceJobs: (jobs: ReadonlyArray<GeneratedJob>) => Promise<void>
  /** Whether every input is committed and every job has its final status; throws if the mock dropped records of any topic. */
  readonly jobsFinished: (jobs: ReadonlyArray<GeneratedJob>) => Promise<boolean>
  /** Every job ended `aggregation done` with its expected count, and its last final aggregate counts every review. */
  readonly expectJobsExact: (jobs: ReadonlyArray<GeneratedJob>) => Promise<void>
  /** Whether every job of the sample (test/fixtures/sample) has its final status, its join windows closed, and every input is committed; throws as `jobsFinished`. */
  readonly sampleFinished: () => Promise<boolean>
  /**
   * The sample's outputs equal expected.json: final aggregates, terminal statuses with
   * actual_count, distinct rows and join_unmatched per job, decode failures per DLQ type,
   * and no late record of a job that ends done. Jobs of other inputs on the same topics are
   * ignored. Rows and dead letters are counted once each (by join key, by source record and
   * type); unless `outputsMayRepeat` (a batch replayed after a fault, at_least_once: SPEC 7),
   * none may be written twice.
   */
  readonly expectSampleExact: (options?: { readonly outputsMayRepeat?: boolean }) => Promise<void>
}

/**
 * For the suite it is called in: a mock cluster with the service's topics (plus `extraTopics`)
 * before its tests; every service started and the cluster stopped after them. Scaled out
 * (unless `assignment` is `single-active`), the offsets cover both stages.
 */
export const serviceCluster = (
  applicationId: string,
  { onePartition = false, extraTopics = [], assignment = onePartition ? { partitions: 1 } : defaultAssignment }: {
    readonly onePartition?: boolean
    readonly extraTopics?: ReadonlyArray<MockTopic>
    readonly assignment?: Assignment
  } = {}
): ServiceCluster => {
  let started: { readonly cluster: MockKafkaCluster; readonly kafka: Kafka } | undefined
  const running = () => {
    if (started === undefined) throw new Error("the mock cluster starts before the suite's tests: use it inside them")
    return started
  }
  beforeAll(async () => {
    const cluster = await startMockKafkaCluster({ topics: [...(await serviceTopics(applicationId, onePartition, assignment)), ...extraTopics] })
    started = { cluster, kafka: new Kafka({ clientId: `${applicationId}-check`, brokers: [...cluster.brokers], logLevel: logLevel.NOTHING }) }
  })
  afterAll(async () => {
    killServices()
    await started?.cluster.stop()
  })

  const inputOffsets = async (): Promise<ReadonlyArray<InputOffset>> => {
    const admin = running().kafka.admin()
    await admin.connect()
    try {
      const out: Array<InputOffset> = []
      const read = assignment === "single-active"
        ? Object.values(inputTopics).map((topic) => ({ topic, group: applicationId }))
        : Object.values(inputTopics).flatMap((topic) => [
          { topic, group: repartitionGroup(applicationId) },
          { topic: repartitionTopic(applicationId, topic), group: applicationId }
        ])
      for (const { topic, group } of read) {
        const ends = await admin.fetchTopicOffsets(topic)
        const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
        for (const e of ends) {
          const committed = Number(offsets?.partitions.find((p) => p.partition === e.partition)?.offset ?? "-1")
          out.push({ topic, group, partition: e.partition, committed: committed < 0 ? 0 : committed, end: Number(e.high) })
        }
      }
      return out
    } finally {
      await admin.disconnect()
    }
  }
  const committedAndEnd = async () => {
    const offsets = await inputOffsets()
    return { committed: offsets.reduce((n, o) => n + o.committed, 0), end: offsets.reduce((n, o) => n + o.end, 0) }
  }
  const finalStatuses = async () => {
    const control = (await kcatRead(running().cluster.bootstrap, inputTopics.control)).filter((r) => r.headers["producer"] === applicationId).map(json)
    return new Map(control.filter((m) => m.step === "aggregation").map((m) => [m.job_id as string, m]))
  }

  const expected = loadExpected()
  const sampleJobs = new Set(Object.keys(expected.jobs))
  const read = (topic: string) => kcatRead(running().cluster.bootstrap, topic)
  const joinUnmatchedPerJob = (dlq: ReadonlyArray<ConsumedRecord>) =>
    countBy(dlq, (r) => (r.headers["dlq.error.type"] === "join_unmatched" ? r.headers["dlq.job_id"] : undefined))

  /**
   * The mock keeps only ~5 MB per partition and drops the oldest beyond that, where Kafka
   * would keep them (retention, compaction). A test whose inputs, repartition topics
   * (replays included) or changelogs outgrow that waits for records that are gone: this
   * names the partitions instead, so such a test fails saying why.
   */
  const expectNothingDropped = async () => {
    const admin = running().kafka.admin()
    await admin.connect()
    try {
      const dropped: Array<string> = []
      for (const topic of (await admin.listTopics()).sort()) {
        for (const p of await admin.fetchTopicOffsets(topic)) if (Number(p.low) > 0) dropped.push(`${topic}/${p.partition} (log start ${p.low})`)
      }
      if (dropped.length > 0) throw new Error(`the mock cluster dropped the oldest records of ${dropped.join(", ")}: it keeps ~5 MB per partition`)
    } finally {
      await admin.disconnect()
    }
  }

  const sampleFinished = async () => {
    await expectNothingDropped()
    const ended = await finalStatuses()
    if (![...sampleJobs].every((id) => ended.has(id))) return false
    const unmatched = joinUnmatchedPerJob(await read(serviceTopicNames(applicationId).dlq))
    const joinsClosed = Object.entries(expected.jobs).every(([id, j]) => (unmatched[id] ?? 0) >= (j.join_unmatched ?? 0))
    const offsets = await committedAndEnd()
    return joinsClosed && offsets.committed === offsets.end
  }

  const expectSampleExact = async ({ outputsMayRepeat = false }: { readonly outputsMayRepeat?: boolean } = {}) => {
    const topic = serviceTopicNames(applicationId)
    const [aggregates, allDlq, control, allRows] = await Promise.all([topic.agg, topic.dlq, topic.control, topic.rows].map(read))
    const finals = finalAggregates(aggregates!)
    const written = control!.filter((r) => r.headers["producer"] === applicationId).map(json)
    const rows = distinctBy(allRows!, (r) => text(r.key)!)
    const dlq = distinctBy(allDlq!, (r) =>
      ["dlq.error.type", "dlq.source.topic", "dlq.source.partition", "dlq.source.offset", "dlq.source.index"].map((h) => r.headers[h] ?? "").join("|"))
    if (!outputsMayRepeat) {
      expect(allRows!.length - rows.length, "join rows emitted twice").toBe(0)
      expect(allDlq!.length - dlq.length, "dead letters written twice").toBe(0)
    }
    const rowsPerJob = countBy(rows, (r) => json(r).job_id)
    const unmatchedPerJob = joinUnmatchedPerJob(dlq)
    const latePerJob = countBy(dlq, (r) => (r.headers["dlq.error.type"] === "late_record" ? r.headers["dlq.job_id"] : undefined))
    for (const [jobId, job] of Object.entries(expected.jobs)) {
      const last = written.filter((m) => m.job_id === jobId).at(-1)
      expect(last, `last control message of ${jobId}`).toMatchObject({ step: job.terminal.step, status: job.terminal.status, expected_count: job.expected_count })
      if (job.terminal.actual_count !== undefined) expect(last.actual_count, `actual_count of ${jobId}`).toBe(job.terminal.actual_count)
      if (job.terminal.reason === "data quality") expect(last.error_message, `error_message of ${jobId}`).toMatch(/^data quality/)
      if (job.terminal.status === "done") {
        expect(last.error_message, `error_message of ${jobId}`).toBeUndefined()
        expect(latePerJob[jobId] ?? 0, `late_record dead letters of ${jobId}, which ends done`).toBe(0)
      }
      if (job.aggregate !== undefined) expect(finals.get(jobId), `final aggregate of ${jobId}`).toEqual(sortKeys({ job_id: jobId, ...job.aggregate }))
      if (job.rows !== undefined) expect(rowsPerJob[jobId] ?? 0, `rows of ${jobId}`).toBe(job.rows)
      if (job.join_unmatched !== undefined) expect(unmatchedPerJob[jobId] ?? 0, `join_unmatched of ${jobId}`).toBe(job.join_unmatched)
    }
    const decodeFailures = countBy(dlq, (r) => {
      const type = r.headers["dlq.error.type"]
      const jobId = r.headers["dlq.job_id"]
      return (type === "invalid_json" || type === "schema") && (jobId === undefined || sampleJobs.has(jobId)) ? type : undefined
    })
    expect(decodeFailures, "DLQ records per decode error type").toEqual(expected.dlq)
  }

  return {
    get cluster() {
      return running().cluster
    },
    get kafka() {
      return running().kafka
    },
    start: (env = {}) => startService({ ...onMockCluster(running().cluster.bootstrap, applicationId), ...assignmentEnv(assignment), ...env }),
    inputOffsets,
    committedAndEnd,
    produceJobs: async (jobs) => {
      const { bootstrap } = running().cluster
      await kcatProduce(bootstrap, inputTopics.control, jobs.flatMap((j) => j.control))
      const inputs = [[inputTopics.transform, jobs.flatMap((j) => j.transform)], [inputTopics.analysis, jobs.flatMap((j) => j.analysis)]] as const
      // Spread over the partitions: the mock keeps only ~5 MB per partition, and kcat's sticky
      // partitioner once put 8,000 transform records (5.2 MB) on one, whose oldest the mock
      // then dropped: the service, reading from the log start, never saw a job's first records.
      await Promise.all(inputs.map(([topic, values]) => kcatProduce(bootstrap, topic, values, { spread: true })))
      await expectNothingDropped()
    },
    jobsFinished: async (jobs) => {
      await expectNothingDropped()
      const offsets = await committedAndEnd()
      return offsets.committed === offsets.end && (await finalStatuses()).size === jobs.length
    },
    expectJobsExact: async (jobs) => {
      const ended = await finalStatuses()
      const aggregates = (await kcatRead(running().cluster.bootstrap, serviceTopicNames(applicationId).agg)).map(json)
      for (const job of jobs) {
        expect(ended.get(job.truth.jobId), `final status of ${job.truth.jobId}`).toMatchObject({
          step: "aggregation",
          status: "done",
          expected_count: job.truth.expected
        })
        const last = aggregates.filter((a) => a.job_id === job.truth.jobId && a.is_final === true).at(-1)
        expect(last?.transform_stats.total_reviews, `transform reviews of ${job.truth.jobId}`).toBe(job.truth.transform)
        expect(last?.analysis_stats.total_analyzed, `analysed reviews of ${job.truth.jobId}`).toBe(job.truth.analyzed)
      }
    },
    sampleFinished,
    expectSampleExact
  }
}

/** The first of the records with each key, in their order. */
const distinctBy = <A>(items: ReadonlyArray<A>, key: (a: A) => string): ReadonlyArray<A> => {
  const seen = new Set<string>()
  return items.filter((a) => !seen.has(key(a)) && seen.add(key(a)) !== undefined)
}

/**
 * Records consumed so far by a running service (its /metrics), summed over the topics it
 * reads or over those of `topics` (scaled out, the repartition stage reads the inputs and
 * the review task the repartition topics).
 */
export const recordsIn = async (service: ServiceProcess, topics?: ReadonlyArray<string>): Promise<number> => {
  const res = await service.get("/metrics").catch(() => undefined)
  if (res === undefined || res.status !== 200) return 0
  let sum = 0
  for (const m of res.body.matchAll(/^review_aggregator_records_in_total\{topic="([^"]*)"\} (\d+)/gm)) {
    if (topics === undefined || topics.includes(m[1]!)) sum += Number(m[2])
  }
  return sum
}

/**
 * Produces one message per value with kcat (null keys), as an upstream client would. With
 * `spread`, each message goes to a random partition; without, librdkafka's sticky
 * partitioner puts a burst on one partition.
 */
export const kcatProduce = async (
  bootstrap: string,
  topic: string,
  values: ReadonlyArray<string | Uint8Array>,
  { spread = false }: { readonly spread?: boolean } = {}
) => {
  const spreading = spread ? ["-X", "sticky.partitioning.linger.ms=0"] : []
  const child = spawn("kcat", ["-P", "-b", bootstrap, "-t", topic, ...spreading], { stdio: ["pipe", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => void (stderr += c.toString()))
  child.stdin.end(Buffer.concat(values.flatMap((v) => [typeof v === "string" ? Buffer.from(v) : v, Buffer.from("\n")])))
  const code = await new Promise<number | null>((r) => child.once("exit", r))
  if (code !== 0) throw new Error(`kcat -P ${topic} exited ${code}: ${stderr}`)
}

/** Clean generated jobs (every review transformed and analysed once), so each must end `aggregation done`. */
export const cleanJobs = (prefix: string, count: number, reviews: number): ReadonlyArray<GeneratedJob> =>
  Array.from({ length: count }, (_, i) => generateJob({ jobId: `${prefix}-${i}`, reviews, seed: 7_000 + i, emptyShare: 0.1 }))
