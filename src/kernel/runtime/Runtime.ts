/**
 * The task runtime: restores a task's stores from their changelogs, then runs it on
 * the stream processor (group membership, outputs -> changelog -> offsets or one
 * transaction, one retry policy). Records go to the task of their partition (or the
 * single task); each event's outputs and changelog come from the task's buffers.
 */
import { Clock, Effect } from "effect"
import type { Scope } from "effect"
import type { KafkaClient, KafkaError, Subscription } from "../kafka/KafkaPort.ts"
import * as StreamProcessor from "./StreamProcessor.ts"
import type { AlignmentSettings } from "./AlignedInput.ts"
import type { InputEvent } from "./InputEvent.ts"
import { changelogTopic } from "../store/StoreSpec.ts"
import { storesOf, type TaskDefinition } from "./Task.ts"
import { TaskInstance, type EventOutput } from "./TaskInstance.ts"
import { ChangelogBacklog, restoreTask, type RestoreReport } from "./TaskRestore.ts"
import { ReadProgress } from "./ReadProgress.ts"
import * as RuntimeMetrics from "./RuntimeMetrics.ts"

export type Guarantee = StreamProcessor.Guarantee

export interface RuntimeSettings {
  /** Consumer group id and prefix of changelog topics. */
  readonly applicationId: string
  readonly dlqTopic: string
  readonly guarantee: Guarantee
  /** How long the write in flight may still take once shutdown begins (default 10 s). */
  readonly shutdownGraceMs?: number | undefined
  /** Idle time and event bounds of aligned consumption (defaults: AlignedInput's). */
  readonly alignment?: AlignmentSettings | undefined
}

/** What one handled event produced, for the application's own observers (metrics, tracing, logs). */
export interface HandledEvent<E> extends EventOutput<E> {
  /** The input records of the event (those of this task), or undefined for clock work. */
  readonly input: InputEvent | undefined
  readonly now: number
  readonly task: TaskInstance<E>
}

export interface RuntimeOptions<E> extends RuntimeSettings {
  /** Prefix of the runtime's metric names (e.g. the application's); default `stream_task`. */
  readonly metricsPrefix?: string | undefined
  readonly task: TaskDefinition<E>
  /** Runs after each event is handled, per task it touched, before it is written (inside the event's `process` span). */
  readonly observe?: ((event: HandledEvent<E>) => Effect.Effect<void>) | undefined
  /** Runs once the stores are restored (after this member got its partitions) and before the first record is handled. */
  readonly onRestored?: ((tasks: ReadonlyArray<TaskInstance<E>>) => Effect.Effect<void>) | undefined
}

const reportRestore = (task: string, taskId: number, report: RestoreReport) =>
  Effect.gen(function*() {
    for (const problem of report.problems) yield* Effect.logWarning(`restore of task ${task}/${taskId}: skipped ${problem}`)
    if (report.skipped > report.problems.length) {
      yield* Effect.logWarning(`restore of task ${task}/${taskId}: ${report.skipped - report.problems.length} more records skipped`)
    }
    yield* Effect.logInfo(`restored task ${task}/${taskId} from ${report.records} changelog records`)
  })

/**
 * The handler of a runtime: restores its tasks (reading their changelogs) when built,
 * then handles input events and ticks. Built only once this member holds its partitions, so
 * the state includes everything the previous holder wrote.
 */
const makeHandler = <E>(options: RuntimeOptions<E>) =>
  Effect.gen(function*() {
    const { task: definition } = options
    const metrics = RuntimeMetrics.make(options.metricsPrefix ?? "stream_task")
    const taskLabel = (taskId: number) => `${definition.name}/${taskId}`
    const tasks = new Map<number, TaskInstance<E>>()
    const backlog = yield* ChangelogBacklog.read(
      storesOf(definition).filter((s) => s.logged !== false).map((s) => changelogTopic(options.applicationId, s))
    )

    const create = (taskId: number) =>
      Effect.gen(function*() {
        const task = new TaskInstance(definition, taskId, options)
        yield* metrics.register(taskLabel(taskId), task.stores.map((s) => s.spec.name))
        yield* metrics.restoring(taskLabel(taskId), 1)
        const report = restoreTask(task, backlog, definition.partitioning === "single" ? undefined : taskId, yield* Clock.currentTimeMillis)
        task.restoredClock()
        yield* metrics.restored(taskLabel(taskId), report)
        yield* metrics.restoring(taskLabel(taskId), 0)
        yield* reportRestore(definition.name, taskId, report)
        tasks.set(taskId, task)
        return task
      })
    // A single task exists from the start; partition tasks appear with their first record.
    if (definition.partitioning === "single") yield* create(0)
    const taskFor = (id: number) => {
      const existing = tasks.get(id)
      return existing !== undefined ? Effect.succeed(existing) : create(id)
    }

    const progress = new ReadProgress()
    const observe = (event: HandledEvent<E>) => (options.observe === undefined ? Effect.void : options.observe(event))

    /** What the broker says now, where the adapter can tell; unreadable progress leaves what is known. */
    const refresh = (readProgress: Subscription["progress"]) =>
      readProgress === undefined
        ? Effect.succeed(true)
        : Effect.map(Effect.option(readProgress), (partitions) => {
          if (partitions._tag === "Some") progress.observed(partitions.value)
          return partitions._tag === "Some"
        })

    /** Splits an event by task, keeping the event's order within each task. */
    const byTask = (event: InputEvent) => {
      if (definition.partitioning === "single") return new Map([[0, event]])
      const split = new Map<number, { records: Array<InputEvent["records"][number]>; partitions: Array<InputEvent["partitions"][number]> }>()
      const part = (id: number) => {
        let p = split.get(id)
        if (p === undefined) split.set(id, p = { records: [], partitions: [] })
        return p
      }
      for (const record of event.records) part(record.partition).records.push(record)
      for (const read of event.partitions) part(read.partition).partitions.push(read)
      return split as ReadonlyMap<number, InputEvent>
    }

    const handleEvent = (event: InputEvent, readProgress: Subscription["progress"]) =>
      Effect.gen(function*() {
        const reachable = yield* refresh(readProgress)
        const now = yield* Clock.currentTimeMillis
        const started = performance.now()
        const records = []
        const changelog = []
        for (const [taskId, input] of byTask(event)) {
          const task = yield* taskFor(taskId)
          task.setTime(now, progress.decisionTime, progress.pendingActive(now))
          for (const record of input.records) task.process(record)
          for (const read of input.partitions) progress.handled(read)
          // Event-end decisions by absence (a step complete, later records late) may use `now`
          // only if nothing known to be in the partitions is still unread.
          task.setTime(now, reachable && progress.caughtUp ? now : progress.decisionTime, progress.pendingActive(now))
          task.run(task.handlers.endBatch)
          const output = task.drain()
          yield* metrics.state(taskLabel(task.taskId), task.stores.map((s) => ({ name: s.spec.name, size: s.size })), task.currentActiveTime)
          yield* observe({ ...output, input, now, task })
          records.push(...output.records)
          changelog.push(...output.changelog)
        }
        yield* metrics.batchHandled((performance.now() - started) / 1000)
        return { records, changelog }
      })

    const punctuate = (readProgress: Subscription["progress"]) => Effect.gen(function*() {
      // Progress that cannot be read now (broker unreachable) leaves decisions where they are.
      if (!(yield* refresh(readProgress))) {
        progress.unreachable()
        return { records: [], changelog: [] }
      }
      const now = yield* Clock.currentTimeMillis
      const { decisionTime, activeMs } = progress.tick(now)
      const records = []
      const changelog = []
      for (const task of tasks.values()) {
        task.advanceActive(activeMs)
        task.setTime(now, decisionTime)
        task.run(task.handlers.punctuate)
        const output = task.drain()
        yield* metrics.state(taskLabel(task.taskId), task.stores.map((s) => ({ name: s.spec.name, size: s.size })), task.currentActiveTime)
        yield* observe({ ...output, input: undefined, now, task })
        records.push(...output.records)
        changelog.push(...output.changelog)
      }
      return { records, changelog }
    })

    if (options.onRestored !== undefined) yield* options.onRestored([...tasks.values()])
    return {
      handleEvent,
      tick: definition.punctuateEveryMs === undefined ? undefined : { intervalMs: definition.punctuateEveryMs, run: punctuate }
    } satisfies StreamProcessor.Handler
  })

/** Joins the group, restores the task's state once this member holds its partitions, and consumes until interrupted. */
export const run = <E>(options: RuntimeOptions<E>): Effect.Effect<void, KafkaError, KafkaClient | Scope.Scope> =>
  StreamProcessor.runWhenActive({
    groupId: options.applicationId,
    topics: options.task.topics,
    guarantee: options.guarantee,
    shutdownGraceMs: options.shutdownGraceMs,
    alignment: options.alignment
  }, makeHandler(options))
