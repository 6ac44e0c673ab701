/**
 * The Kafka port on a real cluster, through kafkajs: consumer groups (KafkaJsConsumer),
 * producers and transactions (KafkaJsProducer), and the admin calls start-up needs.
 * The adapter declares the options it needs (KafkaJsSettings); the application's
 * configuration provides them. kafkajs logs go to Effect's logger.
 */
import { Effect, Layer, Redacted, Semaphore } from "effect"
import { type Admin, Kafka, type KafkaConfig as KafkaJsConfig, type SASLOptions } from "kafkajs"
import { CoPartitioningError, sharedPartitionCount } from "./CoPartitionedAssignment.ts"
import { CommittedOffsets, readAll, subscribe } from "./KafkaJsConsumer.ts"
import { attempt, retryRetriable } from "./KafkaJsErrors.ts"
import { effectLogCreator, kafkaJsLevel } from "./KafkaJsLogger.ts"
import { makeProducer, makeTransactions } from "./KafkaJsProducer.ts"
import { applyProduceEncoding } from "./KafkaJsProduceEncoding.ts"
import { applyRequestQueueFix } from "./KafkaJsRequestQueue.ts"
import { type KafkaJsOptions, KafkaJsSettings } from "./KafkaJsSettings.ts"
import { KafkaClient, KafkaError, type PartitionProgress, type SubscribeOptions, type TopicSpec } from "./KafkaPort.ts"

// The settings live in their own module (no import cycle); re-exported for the configuration.
export {
  type Compression,
  Compressions,
  type KafkaJsOptions,
  KafkaJsSettings,
  type KafkaLogLevel,
  KafkaLogLevels,
  type SaslMechanism,
  SaslMechanisms,
  type SaslOptions,
  type TlsOptions
} from "./KafkaJsSettings.ts"

const saslOf = (settings: KafkaJsOptions): SASLOptions | undefined => {
  const sasl = settings.sasl
  if (sasl === undefined) return undefined
  const credentials = { username: sasl.username, password: Redacted.value(sasl.password) }
  switch (sasl.mechanism) {
    case "plain":
      return { mechanism: "plain", ...credentials }
    case "scram-sha-256":
      return { mechanism: "scram-sha-256", ...credentials }
    case "scram-sha-512":
      return { mechanism: "scram-sha-512", ...credentials }
  }
}

/** kafkajs client options from the settings (secrets are unwrapped only here). */
export const kafkaJsConfig = (settings: KafkaJsOptions): KafkaJsConfig => {
  const config: KafkaJsConfig = {
    clientId: settings.clientId,
    brokers: [...settings.brokers],
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    logLevel: kafkaJsLevel(settings.logLevel),
    // kafkajs's own retries cover blips; longer outages surface as retriable KafkaErrors,
    // waited out by the stream processor (writes) or retryRetriable (start-up, admin calls).
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 30_000 }
  }
  const tls = settings.tls
  if (tls !== undefined) {
    config.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized,
      ...(tls.ca !== undefined ? { ca: [tls.ca] } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: Redacted.value(tls.key) } : {}),
      ...(tls.keyPassword !== undefined ? { passphrase: Redacted.value(tls.keyPassword) } : {})
    }
  }
  const sasl = saslOf(settings)
  if (sasl !== undefined) config.sasl = sasl
  return config
}

const connectedAdmin = (kafka: Kafka, settings: KafkaJsOptions) =>
  Effect.acquireRelease(
    Effect.sync(() => kafka.admin()).pipe(
      Effect.tap((admin) => retryRetriable(attempt("admin.connect", () => admin.connect())))
    ),
    (admin) =>
      attempt("admin.disconnect", () => admin.disconnect()).pipe(
        Effect.timeout(settings.shutdownTimeoutMs),
        Effect.catchCause((cause) => Effect.logWarning("admin client did not disconnect cleanly", cause))
      ),
    // Waiting for an unreachable broker must not block a shutdown signal.
    { interruptible: true }
  )

export const make = Effect.gen(function*() {
  const settings = yield* KafkaJsSettings
  const context = yield* Effect.context<never>()
  // Before any connection: without it every connection runs a 1 ms timer loop (KafkaJsRequestQueue).
  if (!applyRequestQueueFix()) yield* Effect.logWarning("kafkajs's request queue is not the one its fix knows: left as it is (a 1 ms timer per connection)")
  // Before any produce: records are encoded in one pass (KafkaJsProduceEncoding).
  if (!applyProduceEncoding()) yield* Effect.logWarning("kafkajs's produce protocol is not the one the one-pass encoding knows: kafkajs encodes as it always did")
  const kafka = new Kafka({ ...kafkaJsConfig(settings), logCreator: effectLogCreator(context) })
  const admin = yield* connectedAdmin(kafka, settings)
  const produce = yield* makeProducer(kafka, settings)
  const offsets = new CommittedOffsets()
  const transaction = yield* makeTransactions(kafka, settings, (groupId, o) => offsets.committed(groupId, o))

  // kafkajs's admin shares one metadata cache between calls; concurrent calls can see each
  // other's half-refreshed metadata (fetchTopicOffsets then fails with a TypeError).
  const adminLock = yield* Semaphore.make(1)
  const adminCall = <A>(operation: string, call: (admin: Admin) => Promise<A>) =>
    adminLock.withPermit(retryRetriable(attempt(operation, () => call(admin))))

  /**
   * Topic existence is checked with a full listing: a metadata request naming an unknown
   * topic would create it on brokers with `auto.create.topics.enable`.
   */
  const topicExists = (topic: string) => Effect.map(adminCall("listTopics", (a) => a.listTopics()), (topics) => topics.includes(topic))

  const partitionCount = Effect.fn("KafkaJs.partitionCount")(function*(topic: string) {
    if (!(yield* topicExists(topic))) return undefined
    const metadata = yield* adminCall("fetchTopicMetadata", (a) => a.fetchTopicMetadata({ topics: [topic] }))
    return metadata.topics.find((t) => t.name === topic)?.partitions.length
  })

  /**
   * Refuses topics of unequal partition counts before joining: the group leader's
   * assigner would fail on them, and kafkajs would restart the member for ever.
   */
  const coPartitioned = (topics: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const counts = yield* Effect.forEach(topics, (topic) => Effect.map(partitionCount(topic), (partitions) => ({ topic, partitions })))
      yield* Effect.try({
        try: () => sharedPartitionCount(counts.flatMap((c) => (c.partitions === undefined ? [] : [{ topic: c.topic, partitions: c.partitions }]))),
        catch: (error) =>
          new KafkaError({ operation: "subscribe", message: error instanceof CoPartitioningError ? error.message : String(error), retriable: false, cause: error })
      })
    })

  /** High watermarks of a topic's chosen partitions that hold records (none for a missing topic). */
  const watermarksOf = (topic: string, chosen: (partition: number) => boolean) =>
    Effect.gen(function*() {
      if (!(yield* topicExists(topic))) return new Map<number, number>()
      const ends = yield* adminCall("fetchTopicOffsets", (a) => a.fetchTopicOffsets(topic))
      return new Map(
        ends.filter((p) => chosen(p.partition) && BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, Number(p.high)] as const)
      )
    })

  /**
   * Watermarks and committed offsets of a group's topics, read once (no retries) within
   * a few seconds: a reader that cannot get them now simply knows less.
   */
  const progressOf = (options: SubscribeOptions) =>
    adminLock.withPermit(Effect.gen(function*() {
      const out: Array<PartitionProgress> = []
      const committed = yield* attempt("fetchOffsets", () => admin.fetchOffsets({ groupId: options.groupId, topics: [...options.topics] }))
      for (const topic of options.topics) {
        const ends = yield* attempt("fetchTopicOffsets", () => admin.fetchTopicOffsets(topic))
        const group = committed.find((c) => c.topic === topic)?.partitions ?? []
        for (const p of ends) {
          const offset = Number(group.find((g) => g.partition === p.partition)?.offset ?? -1)
          out.push({ topic, partition: p.partition, highWatermark: Number(p.high), committed: offset >= 0 ? offset : undefined })
        }
      }
      return out
    })).pipe(
      Effect.timeoutOrElse({
        duration: "3 seconds",
        orElse: () => Effect.fail(new KafkaError({ operation: "progress", message: "no answer within 3 s", retriable: true }))
      })
    )

  return KafkaClient.of({
    subscribe: (options) =>
      Effect.gen(function*() {
        if (options.assignment === "co-partitioned") yield* coPartitioned(options.topics)
        const subscription = yield* subscribe(kafka, settings, offsets, options)
        return { ...subscription, progress: progressOf(options), progressPerBatch: false }
      }).pipe(Effect.withSpan("KafkaJs.subscribe")),
    produce,
    transaction,
    readAll: Effect.fn("KafkaJs.readAll")(function*(topic: string) {
      return yield* readAll(kafka, settings, topic, yield* watermarksOf(topic, () => true))
    }),
    readPartition: Effect.fn("KafkaJs.readPartition")(function*(topic: string, partition: number) {
      return yield* readAll(kafka, settings, topic, yield* watermarksOf(topic, (p) => p === partition))
    }),
    createTopics: Effect.fn("KafkaJs.createTopics")(function*(specs: ReadonlyArray<TopicSpec>) {
      const existing = new Set(yield* adminCall("listTopics", (a) => a.listTopics()))
      const missing = specs.filter((s) => !existing.has(s.topic))
      if (missing.length === 0) return
      yield* adminCall("createTopics", (a) =>
        a.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.topic,
            numPartitions: s.partitions,
            replicationFactor: s.replicationFactor,
            configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value }))
          }))
        }))
    }),
    partitionCount
  })
})

/** The kafkajs-backed KafkaClient; connecting waits (with logged retries) for the brokers. */
export const layer: Layer.Layer<KafkaClient, KafkaError, KafkaJsSettings> = Layer.effect(KafkaClient, make)
