/** Driving the review task (and its JobBook) in memory, record by record, as the runtime does per batch. */
import { TaskHarness, type TestRecord } from "../../src/kernel/testing/TaskHarness.ts"
import type { JobBook } from "../../src/review/JobBook.ts"
import type { ReviewEvent } from "../../src/review/ReviewEvent.ts"
import { reviewTask, type ReviewTaskSettings } from "../../src/review/ReviewTask.ts"
import type { ReviewStoreSpecs } from "../../src/review/state/ReviewStores.ts"

export const testSettings: ReviewTaskSettings = {
  applicationId: "test-app",
  transformTopic: "transform",
  analysisTopic: "analysis",
  controlTopic: "control",
  rowsTopic: "rows",
  aggregateTopic: "agg",
  timeoutMs: 10_000,
  windowInactivityMs: 1_000,
  publishIntervalMs: 60_000,
  jobRetentionMs: 3_600_000
}

type Extra = Omit<TestRecord, "topic" | "value">

export class BookDriver {
  readonly harness: TaskHarness<ReviewEvent>
  readonly specs: ReviewStoreSpecs
  private current: JobBook | undefined

  constructor(readonly settings: ReviewTaskSettings, now: number) {
    const task = reviewTask({
      settings,
      startedAt: now,
      newTraceparent: (jobId) => `00-${"0".repeat(24)}${jobId.padStart(8, "0").slice(-8)}-${"1".repeat(16)}-01`,
      onBook: (book) => {
        this.current = book
      }
    })
    this.specs = task.specs
    this.harness = new TaskHarness(task, { applicationId: settings.applicationId, dlqTopic: "dlq" }).at(now)
  }

  get book(): JobBook {
    return this.current!
  }

  private send(topic: string, value: unknown, extra: Extra): this {
    this.harness.process({ topic, value: typeof value === "string" ? value : JSON.stringify(value), ...extra })
    return this
  }

  transform(value: unknown, extra: Extra = {}) {
    return this.send(this.settings.transformTopic, value, extra)
  }

  analysis(value: unknown, extra: Extra = {}) {
    return this.send(this.settings.analysisTopic, value, extra)
  }

  control(value: unknown, extra: Extra = {}) {
    return this.send(this.settings.controlTopic, value, extra)
  }

  endBatch(now: number) {
    return this.harness.at(now).endBatch()
  }

  tick(now: number) {
    return this.harness.at(now).punctuate()
  }

  job(jobId: string) {
    return this.book.job(jobId)
  }

  get pendingJoins(): number {
    return this.book.pendingJoins
  }

  /** Rebuilds the task from its changelog alone (as after a crash). */
  restart() {
    return this.harness.restart()
  }
}

export const newBook = (overrides: Partial<ReviewTaskSettings> = {}, now = 0) => new BookDriver({ ...testSettings, ...overrides }, now)
