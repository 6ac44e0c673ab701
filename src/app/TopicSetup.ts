/**
 * Start-up checks of the topics the service reads and writes: inputs must exist (their
 * owners create them) with co-partitioned transform and analysis topics (SPEC 7);
 * outputs and the changelog are created when AUTO_CREATE_TOPICS=true, else must exist.
 */
import { Data, Effect, Layer } from "effect"
import { AppConfig, changelogTopic } from "../config/AppConfig.ts"
import { KafkaConfig } from "../config/KafkaConfig.ts"
import { KafkaClient, type TopicSpec } from "../kernel/kafka/KafkaPort.ts"

export class TopicSetupError extends Data.TaggedError("TopicSetupError")<{
  readonly message: string
}> {}

interface NamedTopic {
  readonly topic: string
  /** The environment variable that names it, so the message says what to change. */
  readonly variable: string
}

const describe = (topics: ReadonlyArray<NamedTopic>) => topics.map((t) => `'${t.topic}' (${t.variable})`).join(", ")

export const ensureTopics = Effect.fn("TopicSetup.ensureTopics")(function*() {
  const app = yield* AppConfig
  const settings = yield* KafkaConfig
  const kafka = yield* KafkaClient

  const transform = { topic: app.transformTopic, variable: "INPUT_TRANSFORM_TOPIC" }
  const analysis = { topic: app.analysisTopic, variable: "INPUT_ANALYSIS_TOPIC" }
  const inputs: ReadonlyArray<NamedTopic> = [transform, analysis, { topic: app.controlTopic, variable: "CONTROL_TOPIC" }]
  const outputs: ReadonlyArray<NamedTopic & { readonly config?: Record<string, string> }> = [
    { topic: app.rowsTopic, variable: "OUTPUT_ROWS_TOPIC" },
    { topic: app.aggregateTopic, variable: "OUTPUT_AGG_TOPIC" },
    { topic: app.dlqTopic, variable: "DLQ_TOPIC" },
    // The state store: only the latest value per key matters, so the log is compacted.
    { topic: changelogTopic(app), variable: "APPLICATION_ID", config: { "cleanup.policy": "compact" } }
  ]

  const counts = new Map<string, number | undefined>()
  for (const t of [...inputs, ...outputs]) counts.set(t.topic, yield* kafka.partitionCount(t.topic))

  const missingInputs = inputs.filter((t) => counts.get(t.topic) === undefined)
  if (missingInputs.length > 0) {
    return yield* new TopicSetupError({
      message: `input topic ${describe(missingInputs)} does not exist; the upstream stages create their topics, ` +
        `so check the topic name and BOOTSTRAP_SERVERS`
    })
  }
  const transformPartitions = counts.get(transform.topic)!
  const analysisPartitions = counts.get(analysis.topic)!
  if (transformPartitions !== analysisPartitions) {
    return yield* new TopicSetupError({
      message: `${transform.variable} '${transform.topic}' has ${transformPartitions} partitions but ` +
        `${analysis.variable} '${analysis.topic}' has ${analysisPartitions}; the join needs both topics ` +
        `co-partitioned (equal partition counts), so repartition one of them`
    })
  }

  const missingOutputs = outputs.filter((t) => counts.get(t.topic) === undefined)
  if (missingOutputs.length > 0 && !settings.autoCreateTopics) {
    return yield* new TopicSetupError({
      message: `topic ${describe(missingOutputs)} does not exist; create it, or set AUTO_CREATE_TOPICS=true ` +
        `to let the service create it (TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR)`
    })
  }
  if (missingOutputs.length > 0) {
    const partitions = settings.topicPartitions ?? transformPartitions
    const specs: ReadonlyArray<TopicSpec> = missingOutputs.map((t) => ({
      topic: t.topic,
      partitions,
      replicationFactor: settings.topicReplicationFactor,
      config: t.config
    }))
    yield* kafka.createTopics(specs)
    yield* Effect.logInfo(`created topics ${describe(missingOutputs)} with ${partitions} partitions`)
  }
  yield* Effect.logInfo(`topics checked: inputs have ${transformPartitions} partitions`)
})

/** Runs the checks once while the service starts; a failure stops start-up with its message. */
export const layer = Layer.effectDiscard(ensureTopics())
