/**
 * The review service's topic plan: the three inputs (the transform and analysis topics
 * co-partitioned for the join), the outputs, the changelog of the review task's stores
 * and, scaled out, the repartition topics. Start-up checks it (`layer`) and `npm run
 * topics` lists it (`reviewTopics`).
 */
import { Effect, Layer } from "effect"
import { type AppSettings, AppConfig } from "../config/AppConfig.ts"
import { type KafkaSettings, KafkaConfig } from "../config/KafkaConfig.ts"
import { KafkaClient } from "../kernel/kafka/KafkaPort.ts"
import { ensureTopics, plannedTopics, TopicSetupError, type NamedTopic, type PlannedTopic, type TopicPlan } from "../kernel/kafka/TopicSetup.ts"
import { repartitionTopic } from "../kernel/topology/Repartition.ts"
import { runsRepartition } from "../review/RepartitionStage.ts"
import { changelogTopic, type StoreSpec } from "../kernel/store/StoreSpec.ts"
import { reviewStoreSpecs } from "../review/state/ReviewStores.ts"

/** Fourteen days: dead letters wait for someone to look at them, over a long weekend too. */
const DLQ_RETENTION_MS = 14 * 24 * 60 * 60 * 1000

export const reviewTopicPlan = (
  app: AppSettings,
  kafka: Pick<KafkaSettings, "autoCreateTopics" | "topicPartitions" | "topicReplicationFactor">
): TopicPlan => {
  const transform = { topic: app.transformTopic, variable: "INPUT_TRANSFORM_TOPIC" }
  const analysis = { topic: app.analysisTopic, variable: "INPUT_ANALYSIS_TOPIC" }
  const control = { topic: app.controlTopic, variable: "CONTROL_TOPIC" }
  const changelogs = new Set(
    Object.values<StoreSpec<any, any>>(reviewStoreSpecs(app)).filter((s) => s.logged !== false).map((s) => changelogTopic(app.applicationId, s))
  )
  // Scaled out, whatever reads the three inputs is assigned co-partitioned: the review task
  // when upstreams key by job, else the repartition stage. Both need equal partition counts.
  const scaledOut = app.partitionAssignment === "co-partitioned"
  return {
    inputs: [transform, analysis, control],
    copartitioned: scaledOut ? [transform, analysis, control] : [transform, analysis],
    own: [
      // Created with the transform topic's partitions unless TOPIC_PARTITIONS says otherwise: one count for all three.
      ...repartitionTopics(app),
      { topic: app.rowsTopic, variable: "OUTPUT_ROWS_TOPIC" },
      // One aggregate per job under its key, the last one final: compaction keeps each job's latest.
      { topic: app.aggregateTopic, variable: "OUTPUT_AGG_TOPIC", config: { "cleanup.policy": "compact" } },
      { topic: app.dlqTopic, variable: "DLQ_TOPIC", config: { "retention.ms": String(DLQ_RETENTION_MS) } },
      // State stores: only the latest value per key matters, so their logs are compacted.
      ...[...changelogs].map((topic) => ({ topic, variable: "APPLICATION_ID", config: { "cleanup.policy": "compact" } }))
    ],
    create: {
      allowed: kafka.autoCreateTopics,
      partitions: kafka.topicPartitions,
      replicationFactor: kafka.topicReplicationFactor,
      howToAllow: "set AUTO_CREATE_TOPICS=true to let the service create it (TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR)"
    }
  }
}

/** The repartition stage's outputs, when the settings run it. */
const repartitionTopics = (app: AppSettings): ReadonlyArray<NamedTopic> =>
  runsRepartition(app)
    ? [app.transformTopic, app.analysisTopic, app.controlTopic].map((topic) => ({ topic: repartitionTopic(app.applicationId, topic), variable: "APPLICATION_ID" }))
    : []

/**
 * Scaled out, task p restores from partition p of each changelog, so the topics the
 * review task reads and its changelogs must all have one partition count.
 */
export const checkTaskPartitions = (app: AppSettings) => Effect.gen(function*() {
  // No span of its own: it would be a one-span trace at every start (ensureTopics already has one).
  if (app.partitionAssignment !== "co-partitioned") return
  const kafka = yield* KafkaClient
  const read = runsRepartition(app) ? repartitionTopics(app) : [
    { topic: app.transformTopic, variable: "INPUT_TRANSFORM_TOPIC" },
    { topic: app.analysisTopic, variable: "INPUT_ANALYSIS_TOPIC" },
    { topic: app.controlTopic, variable: "CONTROL_TOPIC" }
  ]
  const changelogs = [...new Set(
    Object.values<StoreSpec<any, any>>(reviewStoreSpecs(app)).filter((s) => s.logged !== false).map((s) => changelogTopic(app.applicationId, s))
  )].map((topic) => ({ topic, variable: "APPLICATION_ID" }))
  const [first, ...others] = [...read, ...changelogs]
  const expected = yield* kafka.partitionCount(first!.topic)
  for (const t of others) {
    const count = yield* kafka.partitionCount(t.topic)
    if (count !== expected) {
      return yield* new TopicSetupError({
        message: `PARTITION_ASSIGNMENT=co-partitioned: '${t.topic}' (${t.variable}) has ${count ?? "no"} partitions but ` +
          `'${first!.topic}' (${first!.variable}) has ${expected ?? "no"}; task p restores from partition p of each ` +
          `changelog, so the topics the review task reads and its changelogs need equal partition counts`
      })
    }
  }
})

/** Every topic the service reads or writes under these settings. */
export const reviewTopics = (app: AppSettings, kafka: KafkaSettings): ReadonlyArray<PlannedTopic> =>
  plannedTopics(reviewTopicPlan(app, kafka))

export const ensureReviewTopics = Effect.gen(function*() {
  const app = yield* AppConfig
  yield* ensureTopics(reviewTopicPlan(app, yield* KafkaConfig))
  yield* checkTaskPartitions(app)
})

/** Runs the checks once while the service starts; a failure stops start-up with its message. */
export const layer = Layer.effectDiscard(ensureReviewTopics)
