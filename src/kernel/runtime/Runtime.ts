/**
 * The task runtime: restores a task's stores from their changelogs, then runs it on
 * the stream processor (group membership, outputs -> changelog -> offsets or one
 * transaction, one retry policy). Records go to the task of their partition (or the
 * single task); each event's outputs and changelog come from the task's buffers. Scaled
 * out (co-partitioned), tasks come and go with their partitions.
 */
import { Clock, Effect } from "effect"
import type { Scope } from "effect"
import { type AssignmentStrategy, KafkaClient, type KafkaError, type OutgoingRecord, type Subscription, type TopicPartition } from "../kafka/KafkaPort.ts"
import * as StreamProcessor from "./StreamProcessor.ts"
import type { AlignmentSettings } from "./AlignedInput.ts"
import type { InputEvent } from "./InputEvent.ts"
import type { TaskDefinition } from "./Task.ts"
import type { EventOutput, TaskInstance } from "./TaskInstance.ts"
import { ChangelogBacklog } from "./TaskRestore.ts"
import { OwnedTasks } from "./OwnedTasks.ts"
import type { ReadProgress } from "./ReadProgress.ts"
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
  /**
   * `single-active` (default): one member of the group holds every partition and all
   * state. `co-partitioned` (scale-out, `perPartition` tasks only): partition p of every
   * input goes to one member, which restores task p from partition p of its changelogs
   * on assignment and drops it on revocation; members share the work.
   */
  readonly assignment?: AssignmentStrategy | undefined
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
  /**
   * Co-partitioned: runs once the tasks of newly assigned partitions are restored, before
   * any of their records is handled (e.g. to let readers of per-task state see them).
   */
  readonly onAssigned?: ((tasks: ReadonlyArray<TaskInstance<E>>) => Effect.Effect<void>) | undefined
  /** Co-partitioned: runs with the tasks of revoked partitions, written and committed, just before they are dropped. */
  readonly onRevoked?: ((tasks: ReadonlyArray<TaskInstance<E>>) => Effect.Effect<void>) | undefined
}

/** The partition numbers of a change: task ids, for co-partitioned tasks. */
/** `push(...items)` passes every item as an argument: a window closing on 200k records would overflow the stack. */
const appendAll = <A>(to: Array<A>, items: ReadonlyArray<A>): void => {
  for (const item of items) to.push(item)
}

const taskIdsOf = (partitions: ReadonlyArray<TopicPartition>): ReadonlyArray<number> =>
  [...new Set(partitions.map((tp) => tp.partition))].sort((a, b) => a - b)

/**
 * The handler of a runtime. Single-active: restores its tasks (reading whole changelogs)
 * when built, which happens only once this member holds its partitions, so the state
 * includes everything the previous holder wrote. Co-partitioned: starts with no task and
 * restores or drops tasks as partitions are assigned or revoked. Then it handles input
 * events and ticks.
 */
const makeHandler = <E>(options: RuntimeOptions<E>, metrics: RuntimeMetrics.RuntimeMetrics) =>
  Effect.gen(function*() {
    const { task: definition } = options
    const coPartitioned = options.assignment === "co-partitioned"
    const kafka = yield* KafkaClient
    const tasks = new OwnedTasks(definition, options, metrics, coPartitioned)
    const backlog = coPartitioned ? undefined : yield* ChangelogBacklog.read(tasks.changelogTopics)

    // A single task exists from the start; partition tasks appear with their first record
    // (single-active) or their assignment (co-partitioned).
    if (backlog !== undefined && definition.partitioning === "single") yield* tasks.create(0, backlog)
    const taskFor = (id: number) => {
      const existing = tasks.get(id)
      if (existing !== undefined) return Effect.succeed(existing)
      if (backlog !== undefined) return tasks.create(id, backlog)
      // Not assigned, yet its records came: restore it as an assignment would.
      return Effect.flatMap(ChangelogBacklog.readPartition(tasks.changelogTopics, id), (b) => tasks.create(id, b)).pipe(
        Effect.provideService(KafkaClient, kafka),
        Effect.orDie
      )
    }

    const observe = (event: HandledEvent<E>) => (options.observe === undefined ? Effect.void : options.observe(event))

    /** What the broker says now, where the adapter can tell; unreadable progress leaves what is known. */
    const refresh = (readProgress: Subscription["progress"]) =>
      readProgress === undefined
        ? Effect.succeed(true)
        : Effect.map(Effect.option(readProgress), (partitions) => {
          if (partitions._tag === "Some") tasks.observed(partitions.value)
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
        const records: Array<OutgoingRecord> = []
        const changelog: Array<OutgoingRecord> = []
        for (const [taskId, input] of byTask(event)) {
          const task = yield* taskFor(taskId)
          const progress = tasks.progressOf(taskId)
          task.setTime(now, progress.decisionTime, progress.pendingActive(now))
          for (const record of input.records) task.process(record)
          for (const read of input.partitions) progress.handled(read)
          // Event-end decisions by absence (a step complete, later records late) may use `now`
          // only if nothing known to be in the partitions is still unread.
          task.setTime(now, reachable && progress.caughtUp ? now : progress.decisionTime, progress.pendingActive(now))
          task.run(task.handlers.endBatch)
          const output = task.drain()
          yield* metrics.state(tasks.label(task.taskId), task.stores.map((s) => ({ name: s.spec.name, size: s.size })), task.currentActiveTime)
          yield* observe({ ...output, input, now, task })
          appendAll(records, output.records)
          appendAll(changelog, output.changelog)
        }
        yield* metrics.batchHandled((performance.now() - started) / 1000)
        return { records, changelog }
      })

    const punctuate = (readProgress: Subscription["progress"]) => Effect.gen(function*() {
      // Progress that cannot be read now (broker unreachable) leaves decisions where they are.
      if (!(yield* refresh(readProgress))) {
        for (const progress of tasks.progresses()) progress.unreachable()
        return { records: [], changelog: [] }
      }
      const now = yield* Clock.currentTimeMillis
      // Each progress sets its barrier once per tick, even the shared one of no task yet.
      const ticked = new Map<ReadProgress, ReturnType<ReadProgress["tick"]>>()
      const tickOf = (progress: ReadProgress) => {
        let result = ticked.get(progress)
        if (result === undefined) ticked.set(progress, result = progress.tick(now))
        return result
      }
      for (const progress of tasks.progresses()) tickOf(progress)
      const records: Array<OutgoingRecord> = []
      const changelog: Array<OutgoingRecord> = []
      // Only tasks held run: deadlines, windows and publishing follow the partitions.
      for (const task of tasks.values()) {
        const { decisionTime, activeMs } = tickOf(tasks.progressOf(task.taskId))
        task.advanceActive(activeMs)
        task.setTime(now, decisionTime)
        task.run(task.handlers.punctuate)
        const output = task.drain()
        yield* metrics.state(tasks.label(task.taskId), task.stores.map((s) => ({ name: s.spec.name, size: s.size })), task.currentActiveTime)
        yield* observe({ ...output, input: undefined, now, task })
        appendAll(records, output.records)
        appendAll(changelog, output.changelog)
      }
      return { records, changelog }
    })

    const assigned = (partitions: ReadonlyArray<TopicPartition>) =>
      Effect.gen(function*() {
        const restored = yield* Effect.provideService(tasks.assign(taskIdsOf(partitions)), KafkaClient, kafka)
        if (options.onAssigned !== undefined) yield* options.onAssigned(restored)
      })
    const revoked = (partitions: ReadonlyArray<TopicPartition>) =>
      Effect.gen(function*() {
        const held = taskIdsOf(partitions).flatMap((id) => tasks.get(id) ?? [])
        if (options.onRevoked !== undefined && held.length > 0) yield* options.onRevoked(held)
        yield* tasks.revoke(taskIdsOf(partitions))
      })

    if (options.onRestored !== undefined) yield* options.onRestored([...tasks.values()])
    return {
      handleEvent,
      ...(coPartitioned ? { assigned, revoked } : {}),
      tick: definition.punctuateEveryMs === undefined ? undefined : { intervalMs: definition.punctuateEveryMs, run: punctuate }
    } satisfies StreamProcessor.Handler
  })

/** Joins the group, restores the task's state once this member holds its partitions, and consumes until interrupted. */
export const run = <E>(options: RuntimeOptions<E>): Effect.Effect<void, KafkaError, KafkaClient | Scope.Scope> =>
  options.assignment === "co-partitioned" && options.task.partitioning !== "perPartition"
    ? Effect.die(new Error(`task ${options.task.name}: co-partitioned assignment needs a perPartition task (its state must move with its partitions)`))
    : Effect.suspend(() => {
      const metrics = RuntimeMetrics.make(options.metricsPrefix ?? "stream_task")
      return Effect.andThen(
        Effect.andThen(metrics.pausedPartitions(0), metrics.registerWaits),
        StreamProcessor.runWhenActive({
          groupId: options.applicationId,
          topics: options.task.topics,
          guarantee: options.guarantee,
          shutdownGraceMs: options.shutdownGraceMs,
          alignment: options.alignment,
          assignment: options.assignment,
          onPaused: metrics.pausedPartitions,
          onWaited: metrics.waited,
          onWriteStep: metrics.writeStep
        }, makeHandler(options, metrics))
      )
    })
