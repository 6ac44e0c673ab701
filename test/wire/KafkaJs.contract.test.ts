/**
 * The Kafka port contract on the kafkajs adapter over the wire: against librdkafka's
 * mock cluster always (what the mock lacks, CreateTopics and transactions, is skipped
 * with the reason), and in full against a real cluster when KAFKA_TEST_BROKERS is set.
 * REQUIRE_WIRE_TESTS=1 turns "mock cluster unavailable" into a failure.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Context, Effect, Exit, Layer, Logger, References, Result, Schedule, Scope, Stream } from "effect"
import {
  AssignerProtocol,
  type Cluster,
  Kafka,
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  logLevel
} from "kafkajs"
import { KafkaConfig, type KafkaSettings, KafkaSettings as KafkaSettingsConfig } from "../../src/config/KafkaConfig.ts"
import * as KafkaJs from "../../src/kernel/kafka/KafkaJs.ts"
import { KafkaJsSettings } from "../../src/kernel/kafka/KafkaJs.ts"
import { toKafkaError } from "../../src/kernel/kafka/KafkaJsErrors.ts"
import { effectLogCreator } from "../../src/kernel/kafka/KafkaJsLogger.ts"
import { activeMember, singleActiveAssigner } from "../../src/kernel/kafka/KafkaJsSingleActiveAssigner.ts"
import { KafkaClient, KafkaError, type RecordBatch, type TopicPartitionOffset } from "../../src/kernel/kafka/KafkaPort.ts"
import * as StreamProcessor from "../../src/kernel/runtime/StreamProcessor.ts"
import { MOCK_CONSUMER_SETTINGS, type MockKafkaCluster, mockClusterAvailable, startMockKafkaCluster, wireTestsRequired } from "../support/MockKafkaCluster.ts"
import { contractTopics, kafkaPortContract } from "../kafka/KafkaPortContract.ts"

/** A protocol error as kafkajs builds it from a broker's error code. */
const protocolError = (type: string, retriable: boolean) =>
  Object.assign(new KafkaJSProtocolError(`broker said ${type}`), { type, retriable })

describe("kafkajs adapter without a broker", () => {
  it("maps kafkajs errors to KafkaError, retriable by their innermost cause", () => {
    const refused = new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:9092")
    const cases: Array<readonly [string, unknown, boolean]> = [
      ["connection refused", refused, true],
      ["retries exceeded on a refused connection", new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 }), true],
      ["not the leader", protocolError("NOT_LEADER_FOR_PARTITION", true), true],
      ["fenced producer", protocolError("PRODUCER_FENCED", true), false],
      ["bad credentials", new (KafkaJSSASLAuthenticationError as new (message: string) => Error)("SASL SCRAM SHA512 authentication failed"), false],
      ["a bug, not Kafka", new TypeError("x is undefined"), false]
    ]
    for (const [what, cause, retriable] of cases) {
      const error = toKafkaError("produce")(cause)
      expect(error, what).toBeInstanceOf(KafkaError)
      expect({ what, retriable: error.retriable, operation: error.operation }).toEqual({ what, retriable, operation: "produce" })
    }
    expect(toKafkaError("produce")(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 5, retryTime: 1000 })).message)
      .toContain("ECONNREFUSED")
  })

  it("gives every partition of every topic to the member that joined first, none to the others", async () => {
    const partitions: Record<string, number> = { a: 3, b: 2 }
    const cluster = {
      findTopicPartitionMetadata: (topic: string) => Array.from({ length: partitions[topic]! }, (_, partitionId) => ({ partitionId }))
    } as unknown as Cluster
    const assignerOf = (joinedAt: number) => singleActiveAssigner(joinedAt)({ cluster, groupId: "g", logger: undefined as never })
    const member = (memberId: string, joinedAt: number) => ({ memberId, memberMetadata: assignerOf(joinedAt).protocol({ topics: ["a", "b"] }).metadata })
    const decode = (assignments: ReadonlyArray<{ memberId: string; memberAssignment: Buffer }>) =>
      Object.fromEntries(assignments.map((a) => [a.memberId, AssignerProtocol.MemberAssignment.decode(a.memberAssignment)?.assignment]))
    // Whoever leads the group (runs the assignment), the earliest member gets everything.
    expect(decode(await assignerOf(3_000).assign({ members: [member("m-late", 3_000), member("m-early", 1_000), member("m-mid", 2_000)], topics: ["a", "b"] })))
      .toEqual({ "m-late": {}, "m-early": { a: [0, 1, 2], b: [0, 1] }, "m-mid": {} })
    expect(activeMember([{ memberId: "m-2", joinedAt: 5 }, { memberId: "m-1", joinedAt: 5 }]), "ties by member id").toBe("m-1")
    // A member whose metadata carries no join time (another client) never wins over one that does.
    const foreign = { memberId: "m-0", memberMetadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ["a"], userData: Buffer.alloc(0) }) }
    expect(decode(await assignerOf(1).assign({ members: [foreign, member("m-9", 9_000)], topics: ["a"] })))
      .toEqual({ "m-0": {}, "m-9": { a: [0, 1, 2] } })
  })

  it("routes kafkajs log lines into Effect's logger with their level and namespace", async () => {
    const lines: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
    const capture = Logger.make((options) =>
      void lines.push({
        level: options.logLevel,
        message: options.message,
        annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
      })
    )
    const context = await Effect.runPromise(Effect.context<never>().pipe(Effect.provide(Logger.layer([capture]))))
    const log = effectLogCreator(context)(logLevel.INFO)
    log({ namespace: "ConsumerGroup", level: logLevel.WARN, label: "WARN", log: { timestamp: "t", message: "rebalancing", groupId: "g" } })
    log({ namespace: "Connection", level: logLevel.ERROR, label: "ERROR", log: { timestamp: "t", message: "refused", stack: "at x" } })
    await new Promise((r) => setTimeout(r, 10))
    expect(lines.map((l) => [l.level, String(l.message)])).toEqual([["Warn", "kafkajs: rebalancing"], ["Error", "kafkajs: refused"]])
    expect(lines[0]!.annotations).toMatchObject({ "kafkajs.namespace": "ConsumerGroup", groupId: "g" })
    expect(lines[1]!.annotations, "stacks only at debug level").not.toHaveProperty("stack")
  })
})

describe("settings of the kafkajs adapter (KafkaConfig)", () => {
  const read = (env: Record<string, string>) =>
    Effect.runPromise(Effect.result(KafkaSettingsConfig.parse(ConfigProvider.fromEnv({ env }))))
  const failure = async (env: Record<string, string>) => {
    const result = await read(env)
    return Result.isFailure(result) ? String(result.failure) : "no failure"
  }

  it("reads TLS files and SASL credentials into kafkajs options, keeping the secrets redacted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kafka-config-"))
    writeFileSync(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\nCA\n")
    const result = await read({
      BOOTSTRAP_SERVERS: "b1:9093, b2:9093",
      APPLICATION_ID: "app",
      KAFKA_SSL_CA_FILE: join(dir, "ca.crt"),
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: "user",
      KAFKA_SASL_PASSWORD: "s3cret",
      KAFKA_COMPRESSION: "gzip"
    })
    if (!Result.isSuccess(result)) return expect.fail(String(result.failure))
    const settings = result.success
    expect(settings.brokers).toEqual(["b1:9093", "b2:9093"])
    expect(settings.clientId).toBe("app")
    expect(settings.transactionalId).toMatch(/^app-/)
    expect(JSON.stringify(settings), "secrets in a serialised config").not.toContain("s3cret")
    const config = KafkaJs.kafkaJsConfig(settings)
    expect(config.ssl).toEqual({ rejectUnauthorized: true, ca: ["-----BEGIN CERTIFICATE-----\nCA\n"] })
    expect(config.sasl).toEqual({ mechanism: "scram-sha-512", username: "user", password: "s3cret" })
  })

  it("refuses bad values naming the variable", async () => {
    expect(await failure({ BOOTSTRAP_SERVERS: "kafka" })).toMatch(/BOOTSTRAP_SERVERS/)
    expect(await failure({ KAFKA_SASL_MECHANISM: "kerberos" })).toMatch(/KAFKA_SASL_MECHANISM/)
    expect(await failure({ KAFKA_SASL_MECHANISM: "plain", KAFKA_SASL_PASSWORD: "p" })).toMatch(/KAFKA_SASL_USERNAME/)
    expect(await failure({ KAFKA_SSL_CA_FILE: "/nonexistent/ca.crt" })).toMatch(/KAFKA_SSL_CA_FILE: cannot read '\/nonexistent\/ca.crt'/)
    expect(await failure({ KAFKA_SESSION_TIMEOUT_MS: "5000", KAFKA_HEARTBEAT_INTERVAL_MS: "5000" })).toMatch(/KAFKA_HEARTBEAT_INTERVAL_MS/)
    expect(await failure({ TOPIC_REPLICATION_FACTOR: "0" })).toMatch(/TOPIC_REPLICATION_FACTOR/)
    const dir = mkdtempSync(join(tmpdir(), "kafka-config-"))
    writeFileSync(join(dir, "user.crt"), "CERT")
    expect(await failure({ KAFKA_SSL_CERT_FILE: join(dir, "user.crt") })).toMatch(/KAFKA_SSL_KEY_FILE/)
    expect(await failure({ AUTO_CREATE_TOPICS: "maybe" })).toMatch(/AUTO_CREATE_TOPICS/)
  })
})

const toolchain = mockClusterAvailable()
const mockUnavailable = toolchain.ok ? undefined : toolchain.reason
const wireRequired = wireTestsRequired()
const realBrokers = process.env["KAFKA_TEST_BROKERS"]?.trim() || undefined

if (mockUnavailable !== undefined && wireRequired) {
  describe("Kafka port contract: kafkajs on the mock cluster", () => {
    it("has the mock Kafka toolchain (required by REQUIRE_WIRE_TESTS)", () => {
      const message = `REQUIRE_WIRE_TESTS is set but the mock Kafka cluster cannot run: ${mockUnavailable}`
      console.error(message)
      expect.fail(message)
    })
  })
}

const nextOffsets = (batch: RecordBatch): ReadonlyArray<TopicPartitionOffset> =>
  [{ topic: batch.topic, partition: batch.partition, offset: batch.records[batch.records.length - 1]!.offset + 1 }]

const until = (done: () => boolean, ms: number, what: string) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!done()) {
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`waited ${ms} ms for ${what}`))
      yield* Effect.sleep("50 millis")
    }
  })

class MockBrokers extends Context.Service<MockBrokers, MockKafkaCluster>()("test/MockBrokers") {}

/** Client settings for tests: quick group joins on the mock, kafkajs warnings only. */
const testSettings = (brokers: ReadonlyArray<string>): Partial<KafkaSettings> => ({
  brokers,
  clientId: "contract-test",
  sessionTimeoutMs: MOCK_CONSUMER_SETTINGS.sessionTimeout,
  rebalanceTimeoutMs: MOCK_CONSUMER_SETTINGS.rebalanceTimeout,
  heartbeatIntervalMs: MOCK_CONSUMER_SETTINGS.heartbeatInterval,
  logLevel: "warn",
  shutdownTimeoutMs: 5_000
})

const mockTopics = contractTopics("contract-")
const heldTopic = { name: "kafkajs-held", partitions: 2 }
const rebalanceTopic = { name: "kafkajs-rebalance", partitions: 2 }
const drainTopic = { name: "kafkajs-drain", partitions: 1 }
const demotedTopic = { name: "kafkajs-demoted", partitions: 2 }
const noAdmin = "the mock cluster has no controller for CreateTopics or transactions; set KAFKA_TEST_BROKERS to run it on a real cluster"

const OnMock = KafkaJs.layer.pipe(
  Layer.provideMerge(Layer.unwrap(Effect.gen(function*() {
    const mock = yield* MockBrokers
    return KafkaConfig.layerWith(testSettings(mock.brokers))
  }))),
  Layer.provide(Layer.effect(
    MockBrokers,
    Effect.acquireRelease(
      Effect.tryPromise(() => startMockKafkaCluster({ topics: [...Object.values(mockTopics), heldTopic, rebalanceTopic, drainTopic, demotedTopic] })),
      (mock) => Effect.promise(() => mock.stop())
    )
  ))
)

// Each test has its own topics and groups, so they run concurrently: the group joins
// (3 s each on the mock) overlap instead of adding up.
describe.skipIf(mockUnavailable !== undefined)(
  `Kafka port contract: kafkajs on the mock cluster${mockUnavailable !== undefined ? ` (skipped: ${mockUnavailable})` : ""}`,
  () => {
    layer(OnMock, { excludeTestServices: true, timeout: "60 seconds", concurrent: true })("concurrently", (it) => {
      kafkaPortContract(it, {
        topics: mockTopics,
        prefix: "contract-",
        missing: { createTopics: noAdmin, transactions: noAdmin },
        // A group join takes 3 s on the mock, a takeover after a member left 5 s more.
        waitMs: 20_000
      })

      it.effect("hands out a batch of each partition at once, a partition's next only once a commit covers all of its batch, keeping the membership meanwhile", () =>
        Effect.gen(function*() {
          const kafka = yield* KafkaClient
          const text = (b: RecordBatch | undefined) => b?.records.map((r) => new TextDecoder().decode(r.value!))
          yield* kafka.produce([
            { topic: heldTopic.name, key: null, value: "a0", partition: 0 },
            { topic: heldTopic.name, key: null, value: "a1", partition: 0 },
            { topic: heldTopic.name, key: null, value: "b0", partition: 1 }
          ])
          const subscription = yield* kafka.subscribe({ groupId: "kafkajs-held", topics: [heldTopic.name], fromBeginning: true })
          const received: Array<RecordBatch> = []
          yield* subscription.batches.pipe(Stream.runForEach((batch) => Effect.sync(() => received.push(batch))), Effect.forkScoped)
          yield* until(() => received.length >= 2, 15_000, "a batch of each partition")
          expect(received.map((b) => b.partition).sort(), "both partitions' batches out together").toEqual([0, 1])
          const first = received.find((b) => b.partition === 0)!
          expect(text(first), "partition 0's records, fetched together").toEqual(["a0", "a1"])
          yield* kafka.produce([{ topic: heldTopic.name, key: null, value: "a2", partition: 0 }])
          // Partition 1 committed, partition 0 only up to its first record: its batch stays out.
          yield* subscription.commit([
            ...nextOffsets(received.find((b) => b.partition === 1)!),
            { topic: heldTopic.name, partition: 0, offset: first.records[0]!.offset + 1 }
          ])
          // Held longer than the 6 s session timeout: only heartbeats keep the member in the group.
          yield* Effect.sleep("7 seconds")
          expect(received, "no batch handed out while part of partition 0's batch is uncommitted").toHaveLength(2)
          yield* subscription.commit(nextOffsets(first))
          const committedAt = Date.now()
          yield* until(() => received.length >= 3, 10_000, "partition 0's next batch")
          // A member that had lost its session would first rejoin the group (3 s or more on the mock).
          expect(Date.now() - committedAt, "delay of the next batch after the commit").toBeLessThan(2_500)
          expect(received[2]!.partition).toBe(0)
          expect(text(received[2]), "partition 0 continues after what was committed").toEqual(["a2"])
          yield* subscription.commit(nextOffsets(received[2]!))
        }))

      it.effect("closing a subscription first lets the batch being handled finish and commit (graceful shutdown)", () =>
        Effect.gen(function*() {
          const kafka = yield* KafkaClient
          yield* kafka.produce([0, 1].map((i) => ({ topic: drainTopic.name, key: null, value: `d${i}` })))
          // As in the service: the subscription lives in a scope closed before the pipeline fiber stops.
          const subscriptionScope = yield* Scope.make()
          const subscription = yield* kafka.subscribe({ groupId: "kafkajs-drain", topics: [drainTopic.name], fromBeginning: true }).pipe(
            Scope.provide(subscriptionScope)
          )
          let handling = false
          yield* subscription.batches.pipe(
            Stream.runForEach((batch) =>
              Effect.gen(function*() {
                handling = true
                yield* Effect.sleep("1 second")
                yield* subscription.commit(nextOffsets(batch))
              })
            ),
            Effect.forkScoped
          )
          yield* until(() => handling, 15_000, "a batch in the pipeline")
          yield* Scope.close(subscriptionScope, Exit.void)
          yield* kafka.produce([{ topic: drainTopic.name, key: null, value: "d2" }])
          const next = yield* kafka.subscribe({ groupId: "kafkajs-drain", topics: [drainTopic.name], fromBeginning: true })
          const [batch] = yield* next.batches.pipe(Stream.take(1), Stream.runCollect, Effect.timeout("20 seconds"))
          expect(batch!.records.map((r) => `${r.offset}:${new TextDecoder().decode(r.value!)}`), "what the next member reads").toEqual(["2:d2"])
        }))

      it.effect("a second member of the group stands by while the first is active, then takes over every partition, losing no record", () =>
        Effect.gen(function*() {
          const kafka = yield* KafkaClient
          const seenBy = { first: new Set<string>(), second: new Set<string>() }
          const committedByFirst = new Set<string>()
          const wave = (from: number) =>
            kafka.produce(Array.from({ length: 10 }, (_, i) => ({ topic: rebalanceTopic.name, key: null, value: `m${from + i}`, partition: i % 2 })))
          // A member that handles each batch slowly and commits it, like the stream processor
          // (which retries a commit that failed for the rebalance).
          const member = (seen: Set<string>, committed = new Set<string>()) =>
            Effect.gen(function*() {
              const subscription = yield* kafka.subscribe({ groupId: "kafkajs-rebalance", topics: [rebalanceTopic.name], fromBeginning: true })
              yield* subscription.batches.pipe(
                Stream.runForEach((batch) =>
                  Effect.gen(function*() {
                    const values = batch.records.map((r) => new TextDecoder().decode(r.value!))
                    for (const v of values) seen.add(v)
                    yield* Effect.sleep("100 millis")
                    yield* subscription.commit(nextOffsets(batch)).pipe(
                      Effect.retry({ while: (e) => e.retriable, schedule: Schedule.spaced("200 millis") })
                    )
                    for (const v of values) committed.add(v)
                  })
                ),
                Effect.forkScoped
              )
            })
          const firstScope = yield* Scope.make()
          yield* wave(0)
          yield* member(seenBy.first, committedByFirst).pipe(Scope.provide(firstScope))
          yield* until(() => seenBy.first.size >= 1, 15_000, "the first member's first batch")
          // Subscribing returns once the member has joined, i.e. after the rebalance that let it in.
          yield* member(seenBy.second)
          yield* wave(10)
          yield* wave(20)
          const early = Array.from({ length: 30 }, (_, i) => `m${i}`)
          yield* until(() => early.every((m) => committedByFirst.has(m)), 30_000, "the first member reading and committing every record while active")
          expect([...seenBy.second], "records handed to the standby while the first member is active").toEqual([])
          yield* Scope.close(firstScope, Exit.void)
          yield* wave(30)
          const late = Array.from({ length: 10 }, (_, i) => `m${30 + i}`)
          yield* until(() => late.every((m) => seenBy.second.has(m)), 30_000, "the standby taking over").pipe(
            Effect.catch((error) => Effect.fail(new Error(`${error.message}; missing: ${late.filter((m) => !seenBy.second.has(m)).join(",")}`)))
          )
          expect([...seenBy.second].filter((m) => early.includes(m)), "records the first member had committed, read again").toEqual([])
        }), 60_000)

      it.effect("an active member that loses its partitions to an earlier member stops, its state being stale", () =>
        Effect.gen(function*() {
          const kafka = yield* KafkaClient
          const settings = yield* KafkaJsSettings
          const subscription = yield* kafka.subscribe({ groupId: "kafkajs-demoted", topics: [demotedTopic.name], fromBeginning: true })
          yield* subscription.active
          // A member whose clock says it joined long before (clock skew between hosts).
          const earlier = new Kafka({ clientId: "earlier", brokers: [...settings.brokers], logLevel: logLevel.NOTHING }).consumer({
            groupId: "kafkajs-demoted",
            ...MOCK_CONSUMER_SETTINGS,
            partitionAssigners: [singleActiveAssigner(0)]
          })
          yield* Effect.acquireRelease(
            Effect.promise(async () => {
              await earlier.connect()
              await earlier.subscribe({ topics: [demotedTopic.name], fromBeginning: true })
              await earlier.run({ eachBatch: async () => {} })
            }),
            () => Effect.promise(() => earlier.disconnect())
          )
          const ended = yield* subscription.batches.pipe(Stream.runDrain, Effect.flip, Effect.timeout("30 seconds"))
          expect({ retriable: ended.retriable, message: ended.message }).toEqual({
            retriable: false,
            message: expect.stringMatching(/another member of consumer group 'kafkajs-demoted' took every partition/)
          })
        }), 60_000)
    })
  }
)

// On a real cluster every name is fresh, so reruns and parallel runs do not collide.
const runId = `contract-${Date.now().toString(36)}-`
const realTopics = contractTopics(runId)

// KAFKA_SSL*/KAFKA_SASL* from the environment apply, so a secured test cluster works too.
const OnRealCluster = Layer.effectDiscard(Effect.gen(function*() {
  const kafka = yield* KafkaClient
  const settings = yield* KafkaJsSettings
  yield* kafka.createTopics(Object.values(realTopics).map((t) => ({ topic: t.name, partitions: t.partitions, replicationFactor: -1 })))
  yield* Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const admin = new Kafka({ ...KafkaJs.kafkaJsConfig(settings), logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(runId))
      await admin.deleteTopics({ topics: mine }).finally(() => admin.disconnect())
    }).pipe(Effect.ignore)
  )
})).pipe(
  Layer.provideMerge(KafkaJs.layer),
  Layer.provideMerge(KafkaConfig.layerWith({ ...testSettings(realBrokers?.split(",") ?? []), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 }))
)

describe.skipIf(realBrokers === undefined)(
  `Kafka port contract: kafkajs on KAFKA_TEST_BROKERS${realBrokers === undefined ? " (skipped: KAFKA_TEST_BROKERS is not set)" : ""}`,
  () => {
    layer(OnRealCluster, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      kafkaPortContract(it, { topics: realTopics, prefix: runId, missing: {}, waitMs: 30_000 })

      it.effect("exactly_once_v2: the stream processor commits outputs and input offsets in one transaction", () =>
        Effect.gen(function*() {
          const kafka = yield* KafkaClient
          const input = `${runId}eos-in`
          const output = `${runId}eos-out`
          yield* kafka.createTopics([input, output].map((topic) => ({ topic, partitions: 1, replicationFactor: -1 })))
          yield* kafka.produce([0, 1, 2, 3, 4].map((i) => ({ topic: input, key: null, value: `m${i}` })))
          const groupId = `${runId}eos`
          const echo = StreamProcessor.run({
            groupId,
            topics: [input],
            guarantee: "exactly_once_v2",
            handleEvent: (event) =>
              Effect.succeed({ records: event.records.map((r) => ({ topic: output, key: null, value: r.value })), changelog: [] })
          })
          const until = Effect.gen(function*() {
            for (;;) {
              if ((yield* kafka.readAll(output)).length >= 5) return
              yield* Effect.sleep("500 millis")
            }
          })
          yield* Effect.raceFirst(Effect.scoped(echo), until).pipe(Effect.timeout("60 seconds"))
          const echoed = (yield* kafka.readAll(output)).map((r) => new TextDecoder().decode(r.value!))
          expect(echoed).toEqual(["m0", "m1", "m2", "m3", "m4"])
          // The offsets went in with the transactions: a new member of the group has nothing left to read.
          yield* kafka.produce([{ topic: input, key: null, value: "m5" }])
          const subscription = yield* kafka.subscribe({ groupId, topics: [input], fromBeginning: true })
          const [next] = yield* subscription.batches.pipe(Stream.take(1), Stream.runCollect, Effect.timeout("30 seconds"))
          expect(next!.records.map((r) => new TextDecoder().decode(r.value!))).toEqual(["m5"])
        }), 120_000)
    })
  }
)
