/**
 * Replay: feeds message values (one per line, any bytes) into the embedded broker, runs
 * the real pipeline on them and collects every output topic. Ends once every job named
 * in the control input has finished and nothing is pending, or at `maxWaitMs`.
 */
import { Effect, Layer, Result } from "effect"
import { AppConfig, type AppSettings } from "../config/AppConfig.ts"
import * as EmbeddedKafka from "../kernel/kafka/EmbeddedKafka.ts"
import { EmbeddedBroker } from "../kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type ConsumedRecord } from "../kernel/kafka/KafkaPort.ts"
import { parseJsonBytes, isJsonObject } from "../kernel/source/JsonMessage.ts"
import { repartitionTopic } from "../kernel/topology/Repartition.ts"
import type { Job } from "../review/Job.ts"
import { JobTracer } from "../observability/Telemetry.ts"
import * as RepartitionStage from "../review/RepartitionStage.ts"
import { ReviewAggregator } from "../review/ReviewAggregator.ts"
import * as AggregatorPipeline from "./AggregatorPipeline.ts"

export interface ReplayInput {
  readonly transform: ReadonlyArray<Uint8Array>
  readonly analysis: ReadonlyArray<Uint8Array>
  readonly control: ReadonlyArray<Uint8Array>
}

export interface ReplayResult {
  /** Every topic the run wrote to, with its records in partition/offset order. */
  readonly topics: ReadonlyMap<string, ReadonlyArray<ConsumedRecord>>
  readonly jobs: ReadonlyArray<Job>
  /** False when `maxWaitMs` passed before everything finished. */
  readonly completed: boolean
  readonly elapsedMs: number
}

/** Splits a file into its lines as raw bytes (so invalid UTF-8 stays invalid). Blank lines are skipped. */
export const splitLines = (bytes: Uint8Array): ReadonlyArray<Uint8Array> => {
  const lines: Array<Uint8Array> = []
  let start = 0
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      let end = i
      if (end > start && bytes[end - 1] === 0x0d) end--
      const line = bytes.subarray(start, end)
      if (line.some((b) => b !== 0x20 && b !== 0x09)) lines.push(line)
      start = i + 1
    }
  }
  return lines
}

/** Job ids named by the control input (what replay waits for). */
export const controlJobIds = (control: ReadonlyArray<Uint8Array>): ReadonlySet<string> => {
  const ids = new Set<string>()
  for (const line of control) {
    const parsed = parseJsonBytes(line)
    if (Result.isFailure(parsed)) continue
    const json = parsed.success.value
    if (isJsonObject(json) && typeof json["job_id"] === "string") ids.add(json["job_id"])
  }
  return ids
}

export interface ReplayOptions {
  readonly maxWaitMs: number
  /** Called about every 200 ms while waiting, e.g. to draw progress. */
  readonly onProgress?: (jobs: ReadonlyArray<Job>) => Effect.Effect<void>
}

const pollMs = 20

/**
 * Which group reads which topics under these settings: scaled out, the repartition stage
 * reads the inputs and the review task the repartition topics; otherwise the review task
 * reads the inputs.
 */
const readers = (config: AppSettings): ReadonlyArray<{ readonly group: string; readonly topics: ReadonlyArray<string> }> => {
  const inputs = [config.transformTopic, config.analysisTopic, config.controlTopic]
  return RepartitionStage.runsRepartition(config)
    ? [
      { group: RepartitionStage.repartitionGroup(config.applicationId), topics: inputs },
      { group: config.applicationId, topics: inputs.map((topic) => repartitionTopic(config.applicationId, topic)) }
    ]
    : [{ group: config.applicationId, topics: inputs }]
}

export const replay = (input: ReplayInput, options: ReplayOptions) =>
  Effect.gen(function*() {
    const config = yield* AppConfig
    const kafka = yield* KafkaClient
    const broker = yield* EmbeddedBroker
    const aggregator = yield* ReviewAggregator
    const started = Date.now()
    const produce = (topic: string, lines: ReadonlyArray<Uint8Array>) =>
      kafka.produce(lines.map((value) => ({ topic, key: null, value })))
    yield* produce(config.controlTopic, input.control)
    yield* produce(config.transformTopic, input.transform)
    yield* produce(config.analysisTopic, input.analysis)

    const awaited = controlJobIds(input.control)
    const inputTopics = [config.transformTopic, config.analysisTopic, config.controlTopic]
    const consumedAll = () =>
      readers(config).every(({ group, topics }) => {
        const committed = broker.committed(group)
        return topics.every((topic) =>
          broker.endOffsets(topic).every((end, partition) =>
            end === 0 || committed.some((c) => c.topic === topic && c.partition === partition && c.offset >= end)))
      })
    let completed = false
    let sinceProgress = 0
    while (Date.now() - started < options.maxWaitMs) {
      const jobs = yield* aggregator.jobs
      const status = yield* aggregator.status
      const finished = [...awaited].every((id) => jobs.some((j) => j.jobId === id && j.stages.ended !== undefined))
      if (finished && status.pendingJoins === 0 && consumedAll()) {
        completed = true
        break
      }
      if (options.onProgress !== undefined && (sinceProgress += pollMs) >= 200) {
        sinceProgress = 0
        yield* options.onProgress(jobs)
      }
      yield* Effect.sleep(pollMs)
    }
    const topics = new Map<string, ReadonlyArray<ConsumedRecord>>()
    for (const topic of broker.topics()) {
      if (!inputTopics.includes(topic)) topics.set(topic, broker.records(topic))
    }
    // The control topic is both input and output: keep what the service wrote.
    topics.set(config.controlTopic, broker.records(config.controlTopic).filter((r) => r.headers["producer"] === config.applicationId))
    return { topics, jobs: yield* aggregator.jobs, completed, elapsedMs: Date.now() - started } satisfies ReplayResult
  })

/** Everything replay needs: embedded broker + pipeline, under the given config layer. */
export const replayLayer = (config: Layer.Layer<AppConfig, unknown>, tracer: Layer.Layer<JobTracer> = JobTracer.disabled) =>
  AggregatorPipeline.layer.pipe(
    Layer.provide(tracer),
    Layer.provideMerge(EmbeddedKafka.layer({ defaultPartitions: 1 })),
    Layer.provideMerge(config)
  )
