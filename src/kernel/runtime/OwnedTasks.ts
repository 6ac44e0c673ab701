/**
 * The tasks a runtime holds now, each with the read progress its decisions by absence go
 * by: created restored from their changelogs, dropped when their partitions go to another
 * member (co-partitioned scale-out), with their metric series kept current.
 */
import { Clock, Effect } from "effect"
import type { KafkaClient, KafkaError, PartitionProgress } from "../kafka/KafkaPort.ts"
import { changelogTopic } from "../store/StoreSpec.ts"
import { ReadProgress } from "./ReadProgress.ts"
import type * as RuntimeMetrics from "./RuntimeMetrics.ts"
import { storesOf, type TaskDefinition } from "./Task.ts"
import { TaskInstance } from "./TaskInstance.ts"
import { ChangelogBacklog, restoreTask, type RestoreReport } from "./TaskRestore.ts"

const reportRestore = (task: string, taskId: number, report: RestoreReport) =>
  Effect.gen(function*() {
    for (const problem of report.problems) yield* Effect.logWarning(`restore of task ${task}/${taskId}: skipped ${problem}`)
    if (report.skipped > report.problems.length) {
      yield* Effect.logWarning(`restore of task ${task}/${taskId}: ${report.skipped - report.problems.length} more records skipped`)
    }
    yield* Effect.logInfo(`restored task ${task}/${taskId} from ${report.records} changelog records`)
  })

export class OwnedTasks<E> {
  private readonly tasks = new Map<number, TaskInstance<E>>()
  /** Per task when each task owns its partitions (co-partitioned), else one for all. */
  private readonly progressByTask = new Map<number, ReadProgress>()
  private readonly shared = new ReadProgress()

  constructor(
    private readonly definition: TaskDefinition<E>,
    private readonly settings: { readonly applicationId: string; readonly dlqTopic: string },
    private readonly metrics: RuntimeMetrics.RuntimeMetrics,
    /** Whether each task decides from the progress of its own partitions only. */
    private readonly perTaskProgress: boolean
  ) {}

  get changelogTopics(): ReadonlyArray<string> {
    return storesOf(this.definition).filter((s) => s.logged !== false).map((s) => changelogTopic(this.settings.applicationId, s))
  }

  label(taskId: number): string {
    return `${this.definition.name}/${taskId}`
  }

  get(taskId: number): TaskInstance<E> | undefined {
    return this.tasks.get(taskId)
  }

  values(): IterableIterator<TaskInstance<E>> {
    return this.tasks.values()
  }

  /** The read progress task `taskId` decides by. */
  progressOf(taskId: number): ReadProgress {
    return this.perTaskProgress ? this.progressByTask.get(taskId) ?? this.track(taskId) : this.shared
  }

  /** Every progress there is: the shared one, or one per task held. */
  progresses(): ReadonlyArray<ReadProgress> {
    return this.perTaskProgress ? [...this.progressByTask.values()] : [this.shared]
  }

  /** What the broker says of partitions; with per-task progress, only of the partitions of tasks held. */
  observed(partitions: ReadonlyArray<PartitionProgress>): void {
    if (!this.perTaskProgress) return this.shared.observed(partitions)
    for (const p of partitions) this.progressByTask.get(p.partition)?.observed([p])
  }

  /** A task restored from `backlog` (`single`: every partition of it; else its own partition). */
  create(taskId: number, backlog: ChangelogBacklog): Effect.Effect<TaskInstance<E>> {
    const self = this
    return Effect.gen(function*() {
      const label = self.label(taskId)
      const task = new TaskInstance(self.definition, taskId, self.settings)
      yield* self.metrics.register(label, task.stores.map((s) => s.spec.name))
      yield* self.metrics.restoring(label, 1)
      const report = restoreTask(task, backlog, self.definition.partitioning === "single" ? undefined : taskId, yield* Clock.currentTimeMillis)
      task.restoredClock()
      yield* self.metrics.restored(label, report)
      yield* self.metrics.restoring(label, 0)
      yield* reportRestore(self.definition.name, taskId, report)
      self.tasks.set(taskId, task)
      if (self.perTaskProgress) self.track(taskId)
      return task
    })
  }

  /**
   * Tasks of newly assigned partitions, each restored from its own partition of every
   * changelog topic (restore cost is per partition). A task already held is restored
   * anew: another member may have written its state since.
   */
  assign(taskIds: ReadonlyArray<number>): Effect.Effect<ReadonlyArray<TaskInstance<E>>, KafkaError, KafkaClient> {
    const self = this
    return Effect.gen(function*() {
      for (const taskId of taskIds) yield* self.metrics.restoring(self.label(taskId), 1)
      const assigned: Array<TaskInstance<E>> = []
      for (const taskId of taskIds) {
        self.forget(taskId)
        assigned.push(yield* self.create(taskId, yield* ChangelogBacklog.readPartition(self.changelogTopics, taskId)))
      }
      return assigned
    })
  }

  /** Drops tasks whose partitions went elsewhere (their state is in the changelog); their series read 0. */
  revoke(taskIds: ReadonlyArray<number>): Effect.Effect<ReadonlyArray<TaskInstance<E>>> {
    const self = this
    return Effect.gen(function*() {
      const dropped: Array<TaskInstance<E>> = []
      for (const taskId of taskIds) {
        const task = self.tasks.get(taskId)
        self.forget(taskId)
        if (task === undefined) continue
        dropped.push(task)
        yield* self.metrics.dropped(self.label(taskId), task.stores.map((s) => s.spec.name))
      }
      return dropped
    })
  }

  private forget(taskId: number): void {
    this.tasks.delete(taskId)
    this.progressByTask.delete(taskId)
  }

  private track(taskId: number): ReadProgress {
    let progress = this.progressByTask.get(taskId)
    if (progress === undefined) {
      progress = new ReadProgress(new Set(this.definition.topics).size)
      this.progressByTask.set(taskId, progress)
    }
    return progress
  }
}
