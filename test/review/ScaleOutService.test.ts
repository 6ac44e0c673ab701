/**
 * The review service scaled out (PARTITION_ASSIGNMENT=co-partitioned) on the embedded
 * broker: 3 replicas of the service's pipeline in one group, the sample input keyed by
 * review_id over 3 partitions, a 4th replica joins and 2 leave mid-run. Every job's final
 * aggregate, terminal status, distinct row count and the DLQ counts are exactly those of
 * one replica (test/fixtures/sample/expected.json, which SampleReplay checks one replica against).
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Stream } from "effect"
import { AppConfig, type AppSettings } from "../../src/config/AppConfig.ts"
import { checkTaskPartitions, reviewTopicPlan } from "../../src/app/TopicSetup.ts"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { EmbeddedBroker } from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"
import { ensureTopics } from "../../src/kernel/kafka/TopicSetup.ts"
import { consumedAll } from "../../src/kernel/testing/RunUntilIdle.ts"
import { JobTracer } from "../../src/observability/Telemetry.ts"
import { repartitionGroup } from "../../src/review/RepartitionStage.ts"
import { ReviewAggregator } from "../../src/review/ReviewAggregator.ts"
import { countBy, finalAggregates, json, sortKeys, text } from "../support/Outputs.ts"
import { loadExpected, loadSampleInput, sampleTimings } from "../support/Samples.ts"

const INPUT_PARTITIONS = 3
const TASK_PARTITIONS = 6
const overrides: Partial<AppSettings> = { ...sampleTimings, applicationId: "scaled", partitionAssignment: "co-partitioned" }
const settings = AppConfig.layerWith(overrides)

/** Upstream keys: transform and analysis records by review_id, envelopes and control messages by job_id. */
const upstreamKey = (value: Uint8Array): string | null => {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(value))
    return typeof parsed?.review_id === "string" ? parsed.review_id : typeof parsed?.job_id === "string" ? parsed.job_id : null
  } catch {
    return null
  }
}

/** Whether the review group gets batches: closed, its records wait unread while members come and go. */
const gate = { open: true }
const waitOpen: Effect.Effect<void> = Effect.suspend(() => (gate.open ? Effect.void : Effect.andThen(Effect.sleep(1), waitOpen)))

const gated = (inner: KafkaClient["Service"], groupId: string) =>
  KafkaClient.of({
    ...inner,
    subscribe: (options) =>
      Effect.map(inner.subscribe(options), (subscription) =>
        options.groupId !== groupId ? subscription : {
          ...subscription,
          batches: Stream.mapEffect(subscription.batches, (batch) => Effect.as(waitOpen, batch))
        })
  })

/** Polls until `done` holds; fails saying what it waited for after `attempts` rounds of 10 ms. */
const waitUntil = (done: () => boolean | Effect.Effect<boolean>, what: string, attempts = 6_000) =>
  Effect.gen(function*() {
    for (let i = 0; i < attempts; i++) {
      const result = done()
      if (typeof result === "boolean" ? result : yield* result) return
      yield* Effect.sleep(10)
    }
    return yield* Effect.fail(new Error(`gave up waiting for ${what}`))
  })

/** One replica: the service's aggregator (its own state) on the shared broker, running until its fiber is interrupted. */
const replica = (kafka: KafkaClient["Service"], applicationId: string) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(ReviewAggregator.layer.pipe(
      Layer.provide(JobTracer.disabled),
      Layer.provide(Layer.succeed(KafkaClient, gated(kafka, applicationId))),
      Layer.provide(settings)
    ))
    const aggregator = Context.get(context, ReviewAggregator)
    const fiber = yield* Effect.forkChild(Effect.scoped(aggregator.run(Effect.void)))
    return { aggregator, fiber }
  })

describe("the review service scaled out (co-partitioned)", () => {
  it.live("3 replicas, a 4th joins and 2 leave mid-run: the results of one replica exactly", () =>
    Effect.scoped(Effect.gen(function*() {
      const app = yield* Effect.provide(Effect.gen(function*() {
        return yield* AppConfig
      }), settings)
      const kafka = yield* KafkaClient
      const broker = yield* EmbeddedBroker
      const inputTopics = [app.transformTopic, app.analysisTopic, app.controlTopic]
      yield* kafka.createTopics(inputTopics.map((topic) => ({ topic, partitions: INPUT_PARTITIONS, replicationFactor: 1 })))
      const plan = reviewTopicPlan(app, { autoCreateTopics: true, topicPartitions: TASK_PARTITIONS, topicReplicationFactor: 1 })
      yield* ensureTopics(plan)
      yield* checkTaskPartitions(app)

      const sample = loadSampleInput()
      for (const [topic, lines] of [[app.controlTopic, sample.control], [app.transformTopic, sample.transform], [app.analysisTopic, sample.analysis]] as const) {
        yield* kafka.produce(lines.map((value) => ({ topic, key: upstreamKey(value), value })))
      }
      for (const topic of [app.transformTopic, app.analysisTopic]) {
        const used = broker.endOffsets(topic).filter((end) => end > 0).length
        expect(used, `${topic}: the sample is spread over several partitions`).toBeGreaterThan(1)
      }

      const expected = loadExpected()
      const jobIds = Object.keys(expected.jobs)
      const replicas = [yield* replica(kafka, app.applicationId), yield* replica(kafka, app.applicationId), yield* replica(kafka, app.applicationId)]
      const restored = (r: (typeof replicas)[number]) => r.aggregator.restored
      yield* waitUntil(() => Effect.map(Effect.all(replicas.map(restored)), (all) => all.every(Boolean)), "three replicas restoring their first assignment")
      const jobsSeen = (members: ReadonlyArray<(typeof replicas)[number]>) =>
        Effect.map(Effect.all(members.map((r) => r.aggregator.jobs)), (all) => all.flat())
      yield* waitUntil(() => Effect.map(jobsSeen(replicas), (jobs) => jobs.length > 0), "the replicas to start on the jobs")

      gate.open = false
      const fourth = yield* replica(kafka, app.applicationId)
      replicas.push(fourth)
      gate.open = true
      yield* waitUntil(() => restored(fourth), "the fourth replica's first assignment")

      gate.open = false
      const [a, b, c] = replicas
      const unfinishedBefore = (yield* jobsSeen(replicas)).filter((j) => j.stages.ended === undefined).length
      yield* Fiber.interrupt(a!.fiber)
      yield* Fiber.interrupt(b!.fiber)
      gate.open = true
      expect(unfinishedBefore, "jobs were still running when two replicas left").toBeGreaterThan(0)

      const remaining = [c!, fourth]
      const finished = Effect.map(Effect.all([jobsSeen(remaining), Effect.all(remaining.map((r) => r.aggregator.status))]), ([jobs, statuses]) =>
        jobIds.every((id) => jobs.some((j) => j.jobId === id && j.stages.ended !== undefined)) &&
        statuses.every((s) => s.pendingJoins === 0) &&
        consumedAll(broker, app.applicationId, plan.own.map((t) => t.topic).filter((t) => t.endsWith("-repartition"))) &&
        consumedAll(broker, repartitionGroup(app.applicationId), inputTopics))
      yield* waitUntil(() => finished, "the two replicas left to finish every job")
      const held = (yield* jobsSeen(remaining)).map((j) => j.jobId).sort()
      expect(held, "each job is held by exactly one replica").toEqual([...new Set(held)].sort())
      for (const r of remaining) yield* Fiber.interrupt(r.fiber)

      const aggregates = finalAggregates(broker.records(app.aggregateTopic))
      for (const [jobId, job] of Object.entries(expected.jobs)) {
        if (job.aggregate !== undefined) expect(aggregates.get(jobId), `final aggregate of ${jobId}`).toEqual(sortKeys({ job_id: jobId, ...job.aggregate }))
      }
      const control = broker.records(app.controlTopic).filter((r) => r.headers["producer"] === app.applicationId).map(json)
      for (const [jobId, job] of Object.entries(expected.jobs)) {
        const last = control.filter((m) => m.job_id === jobId).at(-1)
        expect(last, `last control message of ${jobId}`).toMatchObject({ step: job.terminal.step, status: job.terminal.status, expected_count: job.expected_count })
        if (job.terminal.actual_count !== undefined) expect(last.actual_count, `actual_count of ${jobId}`).toBe(job.terminal.actual_count)
      }
      const rows = broker.records(app.rowsTopic)
      const distinctRows = countBy([...new Map(rows.map((r) => [text(r.key), r])).values()], (r) => json(r).job_id)
      for (const [jobId, job] of Object.entries(expected.jobs)) {
        if (job.rows !== undefined) expect(distinctRows[jobId] ?? 0, `distinct rows of ${jobId}`).toBe(job.rows)
      }
      const dlq = broker.records(app.dlqTopic)
      const decodeFailures = countBy(dlq, (r) => {
        const type = r.headers["dlq.error.type"]
        return type === "invalid_json" || type === "schema" ? type : undefined
      })
      expect(decodeFailures, "dead letters per decoding error type").toEqual(expected.dlq)
      for (const r of dlq) {
        expect(inputTopics, "a dead letter names the original input record").toContain(r.headers["dlq.source.topic"])
      }
    })).pipe(Effect.provide(EmbeddedKafka.layer())), 120_000)
})
