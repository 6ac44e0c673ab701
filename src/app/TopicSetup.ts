/**
 * The review service's topic plan: the three inputs (the transform and analysis topics
 * co-partitioned for the join), the outputs, and the changelog of the review task's
 * stores. Start-up checks it (`layer`) and `npm run topics` lists it (`reviewTopics`).
 */
import { Effect, Layer } from "effect"
import { type AppSettings, AppConfig } from "../config/AppConfig.ts"
import { type KafkaSettings, KafkaConfig } from "../config/KafkaConfig.ts"
import { ensureTopics, plannedTopics, type PlannedTopic, type TopicPlan } from "../kernel/kafka/TopicSetup.ts"
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
  const changelogs = new Set(
    Object.values<StoreSpec<any, any>>(reviewStoreSpecs(app)).filter((s) => s.logged !== false).map((s) => changelogTopic(app.applicationId, s))
  )
  return {
    inputs: [transform, analysis, { topic: app.controlTopic, variable: "CONTROL_TOPIC" }],
    copartitioned: [transform, analysis],
    own: [
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

/** Every topic the service reads or writes under these settings (the repartition stage is not run yet: issue 9). */
export const reviewTopics = (app: AppSettings, kafka: KafkaSettings): ReadonlyArray<PlannedTopic> =>
  plannedTopics(reviewTopicPlan(app, kafka))

export const ensureReviewTopics = Effect.gen(function*() {
  yield* ensureTopics(reviewTopicPlan(yield* AppConfig, yield* KafkaConfig))
})

/** Runs the checks once while the service starts; a failure stops start-up with its message. */
export const layer = Layer.effectDiscard(ensureReviewTopics)
