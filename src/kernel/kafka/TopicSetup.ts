/**
 * Start-up checks of the topics a pipeline reads and writes: inputs must exist (their
 * owners create them) and topics that must be co-partitioned have equal partition
 * counts; outputs and changelogs are created when allowed, else must exist. Messages
 * name the setting behind each topic, so they say what to change. The same plan lists
 * the topics for operators (`plannedTopics`), so the list and start-up cannot disagree.
 */
import { Data, Effect } from "effect"
import { KafkaClient, type TopicSpec } from "./KafkaPort.ts"

export class TopicSetupError extends Data.TaggedError("TopicSetupError")<{
  readonly message: string
}> {}

export interface NamedTopic {
  readonly topic: string
  /** The setting that names it (e.g. an environment variable). */
  readonly variable: string
}

export interface OwnTopic extends NamedTopic {
  /** Topic configs, e.g. `{ "cleanup.policy": "compact" }` for a changelog. */
  readonly config?: Readonly<Record<string, string>> | undefined
}

export interface TopicPlan {
  readonly inputs: ReadonlyArray<NamedTopic>
  /** Inputs that must have equal partition counts (e.g. the two sides of a join). */
  readonly copartitioned: ReadonlyArray<NamedTopic>
  /** Outputs and changelogs: this pipeline's own. */
  readonly own: ReadonlyArray<OwnTopic>
  readonly create: {
    readonly allowed: boolean
    /** Partitions of created topics; default: those of the first input. */
    readonly partitions: number | undefined
    readonly replicationFactor: number
    /** What to set to allow creation, for the message. */
    readonly howToAllow: string
  }
}

const describe = (topics: ReadonlyArray<NamedTopic>) => topics.map((t) => `'${t.topic}' (${t.variable})`).join(", ")

export const ensureTopics = Effect.fn("TopicSetup.ensureTopics")(function*(plan: TopicPlan) {
  const kafka = yield* KafkaClient
  const counts = new Map<string, number | undefined>()
  for (const t of [...plan.inputs, ...plan.own]) counts.set(t.topic, yield* kafka.partitionCount(t.topic))

  const missingInputs = plan.inputs.filter((t) => counts.get(t.topic) === undefined)
  if (missingInputs.length > 0) {
    return yield* new TopicSetupError({
      message: `input topic ${describe(missingInputs)} does not exist; the upstream stages create their topics, ` +
        `so check the topic name and the brokers`
    })
  }
  const [first, ...others] = plan.copartitioned
  const mismatch = others.find((t) => counts.get(t.topic) !== counts.get(first!.topic))
  if (first !== undefined && mismatch !== undefined) {
    return yield* new TopicSetupError({
      message: `${first.variable} '${first.topic}' has ${counts.get(first.topic)} partitions but ` +
        `${mismatch.variable} '${mismatch.topic}' has ${counts.get(mismatch.topic)}; they must be ` +
        `co-partitioned (equal partition counts), so repartition one of them`
    })
  }

  const missing = plan.own.filter((t) => counts.get(t.topic) === undefined)
  if (missing.length > 0 && !plan.create.allowed) {
    return yield* new TopicSetupError({
      message: `topic ${describe(missing)} does not exist; create it, or ${plan.create.howToAllow}`
    })
  }
  const inputPartitions = counts.get(plan.inputs[0]?.topic ?? "") ?? 1
  if (missing.length > 0) {
    const partitions = plan.create.partitions ?? inputPartitions
    const specs: ReadonlyArray<TopicSpec> = missing.map((t) => ({
      topic: t.topic,
      partitions,
      replicationFactor: plan.create.replicationFactor,
      config: t.config
    }))
    yield* kafka.createTopics(specs)
    yield* Effect.logInfo(`created topics ${describe(missing)} with ${partitions} partitions`)
  }
  yield* Effect.logInfo(`topics checked: inputs have ${inputPartitions} partitions`)
})

/** A topic of a plan as an operator creates it ahead of time. */
export interface PlannedTopic extends NamedTopic {
  /** Inputs are created by their owners; `own` topics are the pipeline's. */
  readonly role: "input" | "own"
  /**
   * Undefined where the plan does not fix it: an input has whatever its owner gave it,
   * and own topics without `create.partitions` get as many as the first input.
   */
  readonly partitions: number | undefined
  readonly config: Readonly<Record<string, string>>
}

/** Every topic of the plan once (a topic both read and written, e.g. a control topic, as the input it is). */
export const plannedTopics = (plan: TopicPlan): ReadonlyArray<PlannedTopic> => {
  const listed = new Map<string, PlannedTopic>()
  for (const t of plan.inputs) {
    if (!listed.has(t.topic)) listed.set(t.topic, { topic: t.topic, variable: t.variable, role: "input", partitions: undefined, config: {} })
  }
  for (const t of plan.own) {
    if (!listed.has(t.topic)) {
      listed.set(t.topic, { topic: t.topic, variable: t.variable, role: "own", partitions: plan.create.partitions, config: t.config ?? {} })
    }
  }
  return [...listed.values()]
}

/** `NAME PARTITIONS key=value ...`, with `-` for partitions the plan does not fix. */
export const topicLine = (t: PlannedTopic): string =>
  [t.topic, t.partitions === undefined ? "-" : String(t.partitions), ...Object.entries(t.config).map(([k, v]) => `${k}=${v}`)].join(" ")
