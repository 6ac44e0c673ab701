/**
 * Drives one task in memory, without a broker: hand it records (one by one, or several
 * topics' at once as one event), end batches, punctuate, read what it wrote, and restart
 * it from the changelog it has written so far. For unit and property tests of a task's
 * logic and for benches; `RunUntilIdle` runs a whole runtime.
 */
import type { ConsumedRecord, Headers, OutgoingRecord } from "../kafka/KafkaPort.ts"
import type { StoreSpec } from "../store/StoreSpec.ts"
import type { TaskDefinition } from "../runtime/Task.ts"
import { TaskInstance, type EventOutput } from "../runtime/TaskInstance.ts"
import { ChangelogBacklog, restoreTask, type RestoreReport } from "../runtime/TaskRestore.ts"
import type { KeyValueStore } from "../store/KeyValueStore.ts"

const encoder = new TextEncoder()
const bytes = (v: string | Uint8Array | null | undefined): Uint8Array | null =>
  v === null || v === undefined ? null : typeof v === "string" ? encoder.encode(v) : v

export interface TestRecord {
  readonly topic: string
  readonly value: string | Uint8Array | null
  readonly key?: string | Uint8Array | null | undefined
  readonly headers?: Headers | undefined
  readonly partition?: number | undefined
  /** Default: the next offset of the harness. */
  readonly offset?: number | undefined
  /** Default: the harness's clock. */
  readonly timestamp?: number | undefined
}

export class TaskHarness<E> {
  private task: TaskInstance<E>
  private nextOffset = 0
  private now = 0
  /** Every changelog record written so far, in order (what the changelog topics hold). */
  readonly changelog: Array<OutgoingRecord> = []

  constructor(
    private readonly definition: TaskDefinition<E>,
    private readonly settings: { readonly applicationId: string; readonly dlqTopic: string },
    private readonly taskId = 0
  ) {
    this.task = new TaskInstance(definition, taskId, settings)
  }

  /** Sets the task's clock for what follows; in a harness the task is always caught up, so time is active. */
  at(now: number): this {
    if (now > this.now) this.task.advanceActive(now - this.now)
    this.now = now
    this.task.setTime(now)
    return this
  }

  process(record: TestRecord): this {
    this.task.process(this.consumed(record))
    return this
  }

  /**
   * One event of records of any topics, handled as the runtime's aligned consumption
   * hands them over: in record-timestamp order (stable for equal times), then the event's
   * end, its outputs and changelog (one record per key changed within the whole event).
   */
  event(records: Iterable<TestRecord>): EventOutput<E> {
    const consumed = Array.from(records, (r) => this.consumed(r))
    // Array.prototype.sort is stable: records of equal time keep their given order.
    consumed.sort((a, b) => a.timestamp - b.timestamp)
    for (const record of consumed) this.task.process(record)
    return this.endBatch()
  }

  /** Ends the batch: the task's batch-end work, then its outputs and changelog. */
  endBatch(): EventOutput<E> {
    this.task.run(this.task.handlers.endBatch)
    return this.drain()
  }

  punctuate(): EventOutput<E> {
    this.task.run(this.task.handlers.punctuate)
    return this.drain()
  }

  store<K, V>(spec: StoreSpec<K, V>): KeyValueStore<K, V> {
    const store = this.task.stores.find((s) => s.spec === spec)
    if (store === undefined) throw new Error(`store "${spec.name}" is not declared by the task`)
    return store as KeyValueStore<K, V>
  }

  /** A new task instance restored from the changelog written so far, as after a crash. */
  restart(): RestoreReport {
    this.task = new TaskInstance(this.definition, this.taskId, this.settings)
    const byTopic = new Map<string, Array<ConsumedRecord>>()
    for (const r of this.changelog) {
      const list = byTopic.get(r.topic) ?? []
      list.push({ topic: r.topic, partition: r.partition ?? 0, offset: list.length, timestamp: 0, key: bytes(r.key), value: bytes(r.value), headers: r.headers ?? {} })
      byTopic.set(r.topic, list)
    }
    const report = restoreTask(this.task, ChangelogBacklog.of(byTopic), undefined, this.now)
    this.task.restoredClock()
    this.task.setTime(this.now)
    return report
  }

  private consumed(record: TestRecord): ConsumedRecord {
    return {
      topic: record.topic,
      partition: record.partition ?? this.taskId,
      offset: record.offset ?? this.nextOffset++,
      timestamp: record.timestamp ?? this.now,
      key: bytes(record.key),
      value: bytes(record.value),
      headers: record.headers ?? {}
    }
  }

  private drain(): EventOutput<E> {
    const out = this.task.drain()
    for (const record of out.changelog) this.changelog.push(record)
    return out
  }
}
