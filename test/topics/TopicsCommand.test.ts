/**
 * `npm run topics` lists every topic the service reads or writes, under the settings of
 * its environment (validated as at start-up), and start-up creates exactly the topics it
 * lists as the service's own, with the partitions and configs it prints.
 */
import { describe, expect, it } from "@effect/vitest"
import { type Config, ConfigProvider, Effect } from "effect"
import { ensureReviewTopics } from "../../src/app/TopicSetup.ts"
import { AppConfig, AppSettings } from "../../src/config/AppConfig.ts"
import { KafkaConfig, KafkaSettings } from "../../src/config/KafkaConfig.ts"
import { KafkaClient, type TopicSpec } from "../../src/kernel/kafka/KafkaPort.ts"
import { listTopics, runTopics, type ListedTopic } from "../support/TopicsCommand.ts"

const byName = (topics: ReadonlyArray<ListedTopic>) => Object.fromEntries(topics.map((t) => [t.name, t]))

describe("npm run topics", () => {
  it("lists the inputs with `-` and the service's own topics with their configs under the defaults", () => {
    const topics = listTopics({})
    expect(topics.map((t) => `${t.name} ${t.partitions ?? "-"}`)).toEqual([
      "realtime-review-transform-topic -",
      "realtime-review-analysis-topic -",
      "job-control-topic -",
      "review-aggregator-enhanced-v1-realtime-review-transform-topic-repartition -",
      "review-aggregator-enhanced-v1-realtime-review-analysis-topic-repartition -",
      "review-aggregator-enhanced-v1-job-control-topic-repartition -",
      "review-rows -",
      "review-agg-by-job -",
      "review-dlq -",
      "review-aggregator-enhanced-v1-job-state-changelog -"
    ])
    const topic = byName(topics)
    expect(topic["review-aggregator-enhanced-v1-job-state-changelog"]!.config).toEqual({ "cleanup.policy": "compact" })
    expect(topic["review-agg-by-job"]!.config).toEqual({ "cleanup.policy": "compact" })
    expect(topic["review-dlq"]!.config).toEqual({ "retention.ms": "1209600000" })
    for (const name of ["realtime-review-transform-topic", "job-control-topic", "review-aggregator-enhanced-v1-job-control-topic-repartition", "review-rows"]) {
      expect(topic[name]!.config, name).toEqual({})
    }
  })

  it("follows the topic settings, APPLICATION_ID and TOPIC_PARTITIONS", () => {
    const topics = listTopics({
      APPLICATION_ID: "orders-eu-v7",
      INPUT_TRANSFORM_TOPIC: "spark-out",
      INPUT_ANALYSIS_TOPIC: "llm-out",
      CONTROL_TOPIC: "jobs-control",
      OUTPUT_ROWS_TOPIC: "rows-v2",
      OUTPUT_AGG_TOPIC: "agg-v2",
      DLQ_TOPIC: "dlq-v2",
      TOPIC_PARTITIONS: "12"
    })
    expect(topics.map((t) => `${t.name} ${t.partitions ?? "-"}`)).toEqual([
      "spark-out -",
      "llm-out -",
      "jobs-control -",
      "orders-eu-v7-spark-out-repartition 12",
      "orders-eu-v7-llm-out-repartition 12",
      "orders-eu-v7-jobs-control-repartition 12",
      "rows-v2 12",
      "agg-v2 12",
      "dlq-v2 12",
      "orders-eu-v7-job-state-changelog 12"
    ])
  })

  it("lists a topic that is both read and written once, as the input it is", () => {
    const topics = listTopics({ DLQ_TOPIC: "job-control-topic" })
    expect(topics.filter((t) => t.name === "job-control-topic")).toEqual([{ name: "job-control-topic", partitions: undefined, config: {} }])
  })

  it.each([
    [{ TOPIC_PARTITIONS: "0" }, "TOPIC_PARTITIONS"],
    [{ CONTROL_TOPIC: "" }, "CONTROL_TOPIC"],
    [{ BOOTSTRAP_SERVERS: "no port here" }, "BOOTSTRAP_SERVERS"]
  ])("exits non-zero naming the variable for a bad setting: %o", (env, variable) => {
    const run = runTopics(env)
    expect(run.status, `stderr: ${run.stderr}`).toBe(1)
    expect(run.stderr).toContain(`invalid setting ${variable}`)
    expect(run.stdout, "no partial list").toBe("")
  })
})

/** Loads a Config the way start-up does, from an environment record. */
const load = <A>(config: Config.Config<A>, env: Record<string, string>) =>
  Effect.provideService(Effect.gen(function*() { return yield* config }), ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

/** A broker holding only the inputs, `inputPartitions` each, that records what start-up creates. */
const brokerWithInputs = (inputs: ReadonlyArray<string>, inputPartitions: number) => {
  const created: Array<TopicSpec> = []
  const unused = () => Effect.die("not used by the topic checks")
  const client = KafkaClient.of({
    subscribe: unused,
    produce: unused,
    transaction: unused,
    readAll: unused,
    readPartition: unused,
    createTopics: (specs) => Effect.sync(() => void created.push(...specs)),
    partitionCount: (topic) => Effect.succeed(inputs.includes(topic) ? inputPartitions : undefined)
  })
  return { client, created }
}

describe("start-up and npm run topics", () => {
  it.effect.each([
    ["TOPIC_PARTITIONS set", { TOPIC_PARTITIONS: "8", APPLICATION_ID: "agree" }],
    ["TOPIC_PARTITIONS unset (as many as the inputs)", { APPLICATION_ID: "agree" }]
  ] as const)("create exactly the own topics the command lists: %s", ([, settings]) =>
    Effect.gen(function*() {
      const env = { ...settings, AUTO_CREATE_TOPICS: "true", TOPIC_REPLICATION_FACTOR: "3" }
      const listed = listTopics(env)
      const inputs = listed.filter((t) => ["realtime-review-transform-topic", "realtime-review-analysis-topic", "job-control-topic"].includes(t.name))
      const { client, created } = brokerWithInputs(inputs.map((t) => t.name), 5)
      yield* ensureReviewTopics.pipe(
        Effect.provideService(AppConfig, yield* load(AppSettings, env)),
        Effect.provideService(KafkaConfig, yield* load(KafkaSettings, env)),
        Effect.provideService(KafkaClient, client)
      )
      expect(inputs.map((t) => t.partitions), "inputs are listed with `-`").toEqual([undefined, undefined, undefined])
      const own = listed.filter((t) => !inputs.includes(t))
      expect(created.map((s) => ({ name: s.topic, partitions: s.partitions, config: s.config ?? {} }))).toEqual(
        own.map((t) => ({ ...t, partitions: t.partitions ?? 5 }))
      )
      expect(created.every((s) => s.replicationFactor === 3)).toBe(true)
    }))
})
