/**
 * The scale-out settings: PARTITION_ASSIGNMENT (default co-partitioned) and
 * INPUT_KEYED_BY_JOB are validated at start-up (a bad or empty value, a setting that
 * would change nothing, or exactly_once_v2 scaled out names its variable), the topic plan gains the repartition topics
 * only when the stage runs, and start-up refuses changelogs whose partitions differ from
 * the topics the task reads.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { checkTaskPartitions, reviewTopicPlan } from "../../src/app/TopicSetup.ts"
import { AppConfig, type AppSettings } from "../../src/config/AppConfig.ts"
import { KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"
import { listTopics, runTopics } from "../support/TopicsCommand.ts"

const repartition = (topic: string) => `review-aggregator-enhanced-v1-${topic}-repartition`
const inputs = ["realtime-review-transform-topic", "realtime-review-analysis-topic", "job-control-topic"]
const changelog = "review-aggregator-enhanced-v1-job-state-changelog"

/** A broker that only answers partition counts. */
const counting = (counts: Readonly<Record<string, number>>) => {
  const unused = () => Effect.die("not used by the partition check")
  return KafkaClient.of({
    subscribe: unused,
    produce: unused,
    transaction: unused,
    readAll: unused,
    readPartition: unused,
    createTopics: unused,
    partitionCount: (topic) => Effect.succeed(counts[topic])
  })
}

const check = (overrides: Partial<AppSettings>, counts: Readonly<Record<string, number>>) =>
  Effect.gen(function*() {
    const app = yield* Effect.provide(Effect.gen(function*() {
      return yield* AppConfig
    }), AppConfig.layerWith(overrides))
    return yield* Effect.exit(checkTaskPartitions(app).pipe(Effect.provideService(KafkaClient, counting(counts))))
  })

describe("scale-out settings", () => {
  it.each([
    [{ PARTITION_ASSIGNMENT: "sharded" }, "PARTITION_ASSIGNMENT"],
    [{ PARTITION_ASSIGNMENT: "" }, "PARTITION_ASSIGNMENT"],
    [{ PARTITION_ASSIGNMENT: "co-partitioned", INPUT_KEYED_BY_JOB: "perhaps" }, "INPUT_KEYED_BY_JOB"],
    [{ PARTITION_ASSIGNMENT: "single-active", INPUT_KEYED_BY_JOB: "true" }, "INPUT_KEYED_BY_JOB"],
    [{ PROCESSING_GUARANTEE: "exactly_once_v2" }, "PARTITION_ASSIGNMENT"]
  ])("stop start-up naming the variable: %o", (env, variable) => {
    const run = runTopics(env)
    expect(run.status, `stderr: ${run.stderr}`).toBe(1)
    expect(run.stderr).toContain(`invalid setting ${variable}`)
  })

  it("exactly_once_v2 starts single-active", () => {
    const run = runTopics({ PROCESSING_GUARANTEE: "exactly_once_v2", PARTITION_ASSIGNMENT: "single-active" })
    expect(run.status, `stderr: ${run.stderr}`).toBe(0)
  })

  it("single-active plans no repartition topic", () => {
    expect(listTopics({ PARTITION_ASSIGNMENT: "single-active" }).filter((t) => t.name.endsWith("-repartition"))).toEqual([])
  })

  it("co-partitioned (the default) plans the three repartition topics, with TOPIC_PARTITIONS like the changelog", () => {
    const topics = listTopics({ TOPIC_PARTITIONS: "6" })
    expect(topics.filter((t) => t.name.endsWith("-repartition"))).toEqual(inputs.map((t) => ({ name: repartition(t), partitions: 6, config: {} })))
    expect(topics.find((t) => t.name === changelog)?.partitions).toBe(6)
    expect(listTopics({ PARTITION_ASSIGNMENT: "co-partitioned", TOPIC_PARTITIONS: "6" }), "the default is co-partitioned").toEqual(topics)
  })

  it("co-partitioned with inputs keyed by job plans no repartition topic (the stage is skipped)", () => {
    const topics = listTopics({ INPUT_KEYED_BY_JOB: "true" })
    expect(topics.filter((t) => t.name.endsWith("-repartition"))).toEqual([])
    expect(topics.map((t) => t.name)).toContain(changelog)
  })
})

describe("inputs that must have equal partition counts", () => {
  const copartitioned = (overrides: Partial<AppSettings>) =>
    Effect.map(Effect.provide(Effect.gen(function*() {
      return yield* AppConfig
    }), AppConfig.layerWith(overrides)), (app) =>
      reviewTopicPlan(app, { autoCreateTopics: false, topicPartitions: undefined, topicReplicationFactor: 1 }).copartitioned.map((t) => t.topic))

  it.effect("single-active: transform and analysis (joined per review)", () =>
    Effect.gen(function*() {
      expect(yield* copartitioned({ partitionAssignment: "single-active" })).toEqual(inputs.slice(0, 2))
    }))

  // The repartition stage reads all three inputs co-partitioned, so the control topic too:
  // start-up refuses it by name rather than the subscription failing later.
  it.effect("co-partitioned: all three, with or without the repartition stage", () =>
    Effect.gen(function*() {
      expect(yield* copartitioned({})).toEqual(inputs)
      expect(yield* copartitioned({ inputKeyedByJob: true })).toEqual(inputs)
    }))
})

describe("start-up check of the review task's partitions (co-partitioned)", () => {
  it.effect("passes when the repartition topics and the changelog have one count", () =>
    Effect.gen(function*() {
      const counts = Object.fromEntries([...inputs.map((t) => [repartition(t), 6] as const), [changelog, 6] as const])
      expect(Exit.isSuccess(yield* check({ partitionAssignment: "co-partitioned" }, counts))).toBe(true)
    }))

  it.effect("refuses a changelog with other partitions than the repartition topics, naming both", () =>
    Effect.gen(function*() {
      const counts = Object.fromEntries([...inputs.map((t) => [repartition(t), 6] as const), [changelog, 3] as const])
      const exit = yield* check({ partitionAssignment: "co-partitioned" }, counts)
      expect(Exit.isFailure(exit)).toBe(true)
      const message = String(Exit.isFailure(exit) ? exit.cause : "")
      expect(message).toContain(`'${changelog}' (APPLICATION_ID) has 3 partitions`)
      expect(message).toContain(`'${repartition(inputs[0]!)}'`)
    }))

  it.effect("keyed by job, compares the inputs themselves with the changelog", () =>
    Effect.gen(function*() {
      const counts = Object.fromEntries([...inputs.map((t) => [t, 4] as const), [changelog, 4] as const])
      const settings = { partitionAssignment: "co-partitioned", inputKeyedByJob: true } as const
      expect(Exit.isSuccess(yield* check(settings, counts))).toBe(true)
      expect(Exit.isFailure(yield* check(settings, { ...counts, [inputs[2]!]: 2 })), "a control topic with other partitions").toBe(true)
    }))

  it.effect("single-active checks nothing here (one task reads every partition)", () =>
    Effect.gen(function*() {
      expect(Exit.isSuccess(yield* check({ partitionAssignment: "single-active" }, { [changelog]: 1 }))).toBe(true)
    }))
})
