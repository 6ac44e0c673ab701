/**
 * The review service's topics for the kernel's start-up check: the three inputs (the
 * transform and analysis topics co-partitioned for the join), the outputs, and the
 * changelog of the review task's stores (compacted).
 */
import { Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { KafkaConfig } from "../config/KafkaConfig.ts"
import { ensureTopics } from "../kernel/kafka/TopicSetup.ts"
import { changelogTopic, type StoreSpec } from "../kernel/store/StoreSpec.ts"
import { reviewStoreSpecs } from "../review/state/ReviewStores.ts"

export const ensureReviewTopics = Effect.gen(function*() {
  const app = yield* AppConfig
  const settings = yield* KafkaConfig
  const transform = { topic: app.transformTopic, variable: "INPUT_TRANSFORM_TOPIC" }
  const analysis = { topic: app.analysisTopic, variable: "INPUT_ANALYSIS_TOPIC" }
  const changelogs = new Set(
    Object.values<StoreSpec<any, any>>(reviewStoreSpecs(app)).filter((s) => s.logged !== false).map((s) => changelogTopic(app.applicationId, s))
  )
  yield* ensureTopics({
    inputs: [transform, analysis, { topic: app.controlTopic, variable: "CONTROL_TOPIC" }],
    copartitioned: [transform, analysis],
    own: [
      { topic: app.rowsTopic, variable: "OUTPUT_ROWS_TOPIC" },
      { topic: app.aggregateTopic, variable: "OUTPUT_AGG_TOPIC" },
      { topic: app.dlqTopic, variable: "DLQ_TOPIC" },
      // State stores: only the latest value per key matters, so their logs are compacted.
      ...[...changelogs].map((topic) => ({ topic, variable: "APPLICATION_ID", config: { "cleanup.policy": "compact" } }))
    ],
    create: {
      allowed: settings.autoCreateTopics,
      partitions: settings.topicPartitions,
      replicationFactor: settings.topicReplicationFactor,
      howToAllow: "set AUTO_CREATE_TOPICS=true to let the service create it (TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR)"
    }
  })
})

/** Runs the checks once while the service starts; a failure stops start-up with its message. */
export const layer = Layer.effectDiscard(ensureReviewTopics)
