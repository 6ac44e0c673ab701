/**
 * The sample run through successive lives of the service on one embedded broker, each
 * life killed at a seeded crash point and restarted at once, until a life finishes. Time
 * is a TestClock moved one tick at a time once the service has caught up, so a busy
 * machine cannot make a deadline pass and a seed replays the same run. One member holding
 * every partition (single-active); scale-out's moves are test/review/ScaleOutService.test.ts's.
 */
import { Clock, Context, Deferred, Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { AppConfig, type ProcessingGuarantee } from "../../src/config/AppConfig.ts"
import * as AggregatorPipeline from "../../src/app/AggregatorPipeline.ts"
import { controlJobIds } from "../../src/app/Replay.ts"
import { random, type Random } from "../../src/app/GeneratedReview.ts"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import { JobTracer } from "../../src/observability/Telemetry.ts"
import { tickIntervalMs } from "../../src/review/ReviewTask.ts"
import { ReviewAggregator } from "../../src/review/ReviewAggregator.ts"
import { crashingKafka, crashPoints, transactionCrashPoints, type Crash, type CrashPlan, type CrashPoint } from "./CrashingKafka.ts"
import { loadSampleInput, sampleTimings } from "./Samples.ts"

export interface CrashRunOptions {
  readonly seed: number
  /** Lives that get a crash plan; the crash of a late plan may never come (nothing left to write). */
  readonly plannedCrashes: number
  /** Most matching writes a plan lets through before its crash. */
  readonly maxSkip: number
  /** The crash points the lives take in turn (all of them unless given). */
  readonly points?: ReadonlyArray<CrashPoint> | undefined
  /**
   * Lives after the planned ones that die at the first write once a seeded moment 1 to 3 s
   * into the run has passed: by then the input is read, so they die in clock work (join
   * windows closing, the deadline of the job that times out).
   */
  readonly clockCrashes?: number | undefined
  /** at_least_once unless given; exactly_once_v2 needs the transaction crash points. */
  readonly guarantee?: ProcessingGuarantee | undefined
}

export interface CrashRunResult {
  /** With, for each, how long after the start of the run (on the test clock) it came. */
  readonly crashes: ReadonlyArray<Crash & { readonly life: number; readonly afterMs: number }>
  readonly completed: boolean
  readonly partitions: number
  readonly maxBatchSize: number
  readonly records: (topic: string) => ReadonlyArray<ConsumedRecord>
  readonly applicationId: string
}

const tickMs = tickIntervalMs(sampleTimings)
/** Far beyond the ~3.5 s the sample needs: a run that gets there is stuck. */
const maxRunMs = 60_000
/** Scheduler turns the service may take to catch up with what is in Kafka. */
const maxTurns = 200_000

/** Points rotate so that every seed meets every kind of crash; the PRNG picks where and how much. */
const planFor = (rng: Random, life: number, seed: number, maxSkip: number, points: ReadonlyArray<CrashPoint>): CrashPlan => ({
  point: points[(life + seed) % points.length]!,
  skip: rng.int(maxSkip + 1),
  prefix: (n) => 1 + rng.int(n - 1)
})

/** Clock work writes outputs and changelog (or a transaction), never offsets. */
const clockPoints = (guarantee: ProcessingGuarantee): ReadonlyArray<CrashPoint> =>
  guarantee === "exactly_once_v2" ? transactionCrashPoints : ["before outputs", "mid outputs", "between outputs and changelog"]

const clockPlanFor = (rng: Random, life: number, startedAt: number, points: ReadonlyArray<CrashPoint>): CrashPlan => ({
  point: points[life % points.length]!,
  skip: 0,
  prefix: (n) => 1 + rng.int(n - 1),
  notBefore: startedAt + 1_000 + rng.int(2_000)
})

type LifeEnd =
  | { readonly _tag: "Crashed"; readonly crash: Crash }
  | { readonly _tag: "Finished" }
  | { readonly _tag: "Stuck" }

const run = (options: CrashRunOptions) =>
  Effect.gen(function*() {
    const rng = random(options.seed)
    const guarantee = options.guarantee ?? "at_least_once"
    const partitions = 3
    // Small batches and events give many events, so crash points fall all over the run.
    const maxBatchSize = 2 + rng.int(9)
    const settings = AppConfig.layerWith({ ...sampleTimings, processingGuarantee: guarantee, eventMaxRecords: maxBatchSize, partitionAssignment: "single-active" })
    const broker = yield* EmbeddedKafka.make({ defaultPartitions: partitions, maxBatchSize })
    const config = yield* Effect.provide(Effect.gen(function*() {
      return yield* AppConfig
    }), settings)
    const input = loadSampleInput()
    const awaited = controlJobIds(input.control)
    const inputTopics = [config.transformTopic, config.analysisTopic, config.controlTopic]
    const consumedAll = () => {
      const committed = broker.inspector.committed(config.applicationId)
      return inputTopics.every((topic) =>
        broker.inspector.endOffsets(topic).every((end, partition) =>
          end === 0 || committed.some((c) => c.topic === topic && c.partition === partition && c.offset >= end)))
    }
    const startedAt = yield* Clock.currentTimeMillis

    /** One life: a fresh service (nothing in memory) on the shared broker, until it dies or finishes. */
    const life = (plan: CrashPlan | undefined, first: boolean) =>
      Effect.scoped(Effect.gen(function*() {
        const kafka = yield* crashingKafka(broker.client, plan)
        const context = yield* Layer.build(ReviewAggregator.layer.pipe(
          Layer.provide(JobTracer.disabled),
          Layer.provide(Layer.succeed(KafkaClient, kafka.client)),
          Layer.provide(settings)
        ))
        const aggregator = Context.get(context, ReviewAggregator)
        const pipeline = yield* Effect.forkScoped(Effect.provide(AggregatorPipeline.runPipeline, context))
        if (first) {
          // Upstream stages produce once the service is up, unkeyed, spread over the partitions.
          const produce = (topic: string, lines: ReadonlyArray<Uint8Array>) =>
            broker.client.produce(lines.map((value) => ({ topic, key: null, value })))
          yield* produce(config.controlTopic, input.control)
          yield* produce(config.transformTopic, input.transform)
          yield* produce(config.analysisTopic, input.analysis)
        }
        const over = Effect.gen(function*() {
          return (yield* Deferred.isDone(kafka.crashed)) || pipeline.pollUnsafe() !== undefined
        })
        /** Lets the service run until it has read and committed everything in Kafka, or its life is over. */
        const catchUp = Effect.gen(function*() {
          for (let turn = 0; turn < maxTurns; turn++) {
            yield* Effect.yieldNow
            if (yield* over) return
            if (turn > 50 && consumedAll()) return
          }
        })
        const finished = Effect.gen(function*() {
          const jobs = yield* aggregator.jobs
          const status = yield* aggregator.status
          const ended = [...awaited].every((id) => jobs.some((j) => j.jobId === id && j.stages.ended !== undefined))
          return ended && status.pendingJoins === 0 && consumedAll()
        })
        let end: LifeEnd = { _tag: "Stuck" }
        while ((yield* Clock.currentTimeMillis) - startedAt < maxRunMs) {
          yield* catchUp
          if (yield* over) break
          if (yield* finished) {
            end = { _tag: "Finished" }
            break
          }
          yield* TestClock.adjust(tickMs)
        }
        // The jobs may have ended in memory before their outputs are written: a clean stop
        // lets the write in flight finish (or crash), so only then is the life's end known.
        yield* Fiber.interrupt(pipeline)
        if (yield* Deferred.isDone(kafka.crashed)) return { _tag: "Crashed", crash: yield* Deferred.await(kafka.crashed) } as LifeEnd
        const exit = pipeline.pollUnsafe()
        if (exit !== undefined && !Exit.hasInterrupts(exit)) {
          return yield* Effect.die(new Error(`the pipeline stopped without a planned crash: ${String(exit)}`))
        }
        return end
      }))

    const crashes: Array<Crash & { readonly life: number; readonly afterMs: number }> = []
    let completed = false
    for (let n = 0; (yield* Clock.currentTimeMillis) - startedAt < maxRunMs; n++) {
      const plan = n < options.plannedCrashes
        ? planFor(rng, n, options.seed, options.maxSkip, options.points ?? (guarantee === "exactly_once_v2" ? transactionCrashPoints : crashPoints))
        : n < options.plannedCrashes + (options.clockCrashes ?? 0)
        ? clockPlanFor(rng, n, startedAt, clockPoints(guarantee))
        : undefined
      const end = yield* life(plan, n === 0)
      if (end._tag === "Finished") {
        completed = true
        break
      }
      if (end._tag === "Stuck") break
      crashes.push({ ...end.crash, life: n, afterMs: (yield* Clock.currentTimeMillis) - startedAt })
    }
    return {
      crashes,
      completed,
      partitions,
      maxBatchSize,
      records: broker.inspector.records,
      applicationId: config.applicationId
    } satisfies CrashRunResult
  })

/** Runs the sample with crashes on its own test clock. */
export const runWithCrashes = (options: CrashRunOptions): Effect.Effect<CrashRunResult> =>
  Effect.provide(Effect.orDie(run(options)), TestClock.layer())
