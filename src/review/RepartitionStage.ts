/**
 * The first stage of scale-out (docs/scale-out.md): re-keys the three inputs by job_id
 * into their repartition topics, in a group of its own, so the review task's partition p
 * holds every record of its jobs. Stateless, so its members share partitions freely.
 */
import { Effect, Metric } from "effect"
import type { Scope } from "effect"
import { alignmentSettings, type AppSettings } from "../config/AppConfig.ts"
import { KafkaClient, type KafkaError } from "../kernel/kafka/KafkaPort.ts"
import * as Runtime from "../kernel/runtime/Runtime.ts"
import { repartitionTopic } from "../kernel/topology/Repartition.ts"
import * as ReviewMetrics from "../observability/ReviewMetrics.ts"
import { repartitionByJob } from "./JobKey.ts"

/** Whether these settings run the stage: scaled out, unless upstreams already key the inputs by job. */
export const runsRepartition = (app: Pick<AppSettings, "partitionAssignment" | "inputKeyedByJob">): boolean =>
  app.partitionAssignment === "co-partitioned" && !app.inputKeyedByJob

export const repartitionGroup = (applicationId: string): string => `${applicationId}-repartition`

/**
 * Partitions of the repartition topics: those the transform one has (start-up created or
 * checked it), else TOPIC_PARTITIONS, else the transform input's count.
 */
export const repartitionPartitions = (app: AppSettings, topicPartitions: number | undefined) =>
  Effect.gen(function*() {
    const kafka = yield* KafkaClient
    const existing = yield* kafka.partitionCount(repartitionTopic(app.applicationId, app.transformTopic))
    const partitions = existing ?? topicPartitions ?? (yield* kafka.partitionCount(app.transformTopic))
    if (partitions === undefined) {
      return yield* Effect.die(new Error(`INPUT_TRANSFORM_TOPIC '${app.transformTopic}' does not exist, so the repartition topics have no partition count`))
    }
    return partitions
  })

/** Runs the stage until interrupted (closing the scope leaves its group). */
export const run = (
  app: AppSettings,
  topicPartitions: number | undefined,
  shutdownGraceMs: number | undefined
): Effect.Effect<void, KafkaError, KafkaClient | Scope.Scope> =>
  Effect.gen(function*() {
    const partitions = yield* repartitionPartitions(app, topicPartitions)
    yield* Runtime.run({
      applicationId: repartitionGroup(app.applicationId),
      dlqTopic: app.dlqTopic,
      guarantee: app.processingGuarantee,
      shutdownGraceMs,
      alignment: alignmentSettings(app),
      metricsPrefix: "review_repartition",
      assignment: "co-partitioned",
      task: repartitionByJob(app, partitions),
      observe: observeInputs
    })
  })

/**
 * Records in and lag of the input topics, on the service's series (the review task
 * reports those of the topics it reads): scaled out, this stage is what reads the inputs.
 */
const observeInputs = <E>(event: Runtime.HandledEvent<E>) =>
  Effect.gen(function*() {
    if (event.input === undefined) return
    const perTopic = new Map<string, number>()
    for (const r of event.input.records) perTopic.set(r.topic, (perTopic.get(r.topic) ?? 0) + 1)
    for (const [topic, n] of perTopic) yield* Metric.update(Metric.withAttributes(ReviewMetrics.recordsIn, { topic }), n)
    for (const { topic, partition, nextOffset, highWatermark } of event.input.partitions) {
      if (highWatermark === undefined) continue
      yield* Metric.update(Metric.withAttributes(ReviewMetrics.consumerLag, { topic, partition: String(partition) }), Math.max(0, highWatermark - nextOffset))
    }
  })
