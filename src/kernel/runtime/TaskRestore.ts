/**
 * Restores task stores from their changelogs before the task handles anything: every
 * changelog record in log order, keys routed to their store (by prefix when stores
 * share a topic), the last value winning as compaction would leave it. A record that
 * does not decode is reported and skipped. Whole topics at start, or one partition of
 * each when this member is assigned that partition (co-partitioned scale-out).
 */
import { Effect, Result } from "effect"
import { KafkaClient, type ConsumedRecord } from "../kafka/KafkaPort.ts"
import { readFrame } from "./ChangelogFrame.ts"
import { EVENT_MARKER_HEADER, type TaskInstance } from "./TaskInstance.ts"

const utf8 = new TextDecoder()

export interface RestoreReport {
  readonly records: number
  readonly skipped: number
  readonly problems: ReadonlyArray<string>
  /** Records of the last event, dropped because its write was cut short (0 if it was whole). */
  readonly torn: number
}

/** Changelog records per topic, read once and handed to the tasks that own their partitions. */
export class ChangelogBacklog {
  private readonly byTopic = new Map<string, ReadonlyArray<ConsumedRecord>>()

  static read(topics: Iterable<string>) {
    return Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const backlog = new ChangelogBacklog()
      for (const topic of new Set(topics)) backlog.byTopic.set(topic, yield* kafka.readAll(topic))
      return backlog
    })
  }

  /** Partition `partition` of each topic only: what a task of that partition restores from. */
  static readPartition(topics: Iterable<string>, partition: number) {
    return Effect.gen(function*() {
      const kafka = yield* KafkaClient
      const backlog = new ChangelogBacklog()
      for (const topic of new Set(topics)) backlog.byTopic.set(topic, yield* kafka.readPartition(topic, partition))
      return backlog
    })
  }

  /** A backlog already in memory (tests, harnesses). */
  static of(byTopic: ReadonlyMap<string, ReadonlyArray<ConsumedRecord>>): ChangelogBacklog {
    const backlog = new ChangelogBacklog()
    for (const [topic, records] of byTopic) backlog.byTopic.set(topic, records)
    return backlog
  }

  /** Records of `topic`, of one partition or (undefined) of all. */
  records(topic: string, partition: number | undefined): ReadonlyArray<ConsumedRecord> {
    const all = this.byTopic.get(topic) ?? []
    return partition === undefined ? all : all.filter((r) => r.partition === partition)
  }
}

const MAX_PROBLEMS = 20

/**
 * Whether the last event's records are all there. Framed with a values count: all its
 * values are (tombstones are written first, and compaction may have removed them, but it
 * never removes a value of the last event). An older frame has only the record count, so
 * all its records must be.
 */
const isWhole = (lastRecords: ReadonlyArray<ConsumedRecord>): { readonly whole: boolean; readonly announced: number; readonly counts: "values" | "records" } => {
  const frame = lastRecords[0] === undefined ? undefined : readFrame(lastRecords[0].headers)
  if (frame?.values !== undefined) {
    return { whole: lastRecords.filter((r) => r.value !== null).length >= frame.values, announced: frame.values, counts: "values" }
  }
  const announced = frame?.records ?? lastRecords.length
  return { whole: lastRecords.length >= announced, announced, counts: "records" }
}

/**
 * Fills a new task's stores; `partition` undefined restores a single task from every
 * partition. Events are written one after another, so only the last one can have been
 * cut short (a crash in the middle of its changelog write, before its offsets were
 * committed): if it is not whole, its records are dropped, its batch is read again, and
 * the keys it touched are rewritten with their restored values at the next flush, so
 * those records stay superseded.
 */
export const restoreTask = (task: TaskInstance<any>, backlog: ChangelogBacklog, partition: number | undefined, now: number): RestoreReport => {
  let records = 0
  let skipped = 0
  const problems: Array<string> = []
  const byTopic = new Map<string, Array<{ readonly prefix: string; readonly store: TaskInstance<any>["stores"][number] }>>()
  for (const { topic, prefix, store } of task.changelogs) {
    const list = byTopic.get(topic) ?? []
    list.push({ prefix, store })
    byTopic.set(topic, list)
  }
  // Each topic's records of this task, read once from the backlog.
  const perTopic = [...byTopic.keys()].map((topic) => [topic, backlog.records(topic, partition)] as const)
  const all = perTopic.flatMap(([, records]) => records)
  // Each record's frame read once: a changelog may hold millions of records.
  const events = all.map((r) => readFrame(r.headers)?.event ?? 0)
  const last = events.reduce((max, event) => Math.max(max, event), 0)
  const lastRecords = all.filter((_, i) => last > 0 && events[i] === last)
  const { whole, announced, counts } = isWhole(lastRecords)
  const torn = whole ? new Set<ConsumedRecord>() : new Set(lastRecords)
  task.lastEvent = last

  const target = (topic: string, key: string) => byTopic.get(topic)?.find((s) => key.startsWith(s.prefix))
  for (const [topic, topicRecords] of perTopic) {
    for (const record of topicRecords) {
      records++
      if (torn.has(record) || record.headers[EVENT_MARKER_HEADER] !== undefined) continue
      const key = record.key === null ? undefined : utf8.decode(record.key)
      const store = key === undefined ? undefined : target(topic, key)
      const problem = key === undefined || store === undefined
        ? `record without a key of this task's stores`
        : Result.match(store.store.restore({ key: key.slice(store.prefix.length), value: record.value === null ? null : utf8.decode(record.value) }), {
          onSuccess: () => undefined,
          onFailure: (message) => message
        })
      if (problem !== undefined) {
        skipped++
        if (problems.length < MAX_PROBLEMS) problems.push(`${topic}[${record.partition}]@${record.offset}: ${problem}`)
      }
    }
  }
  for (const record of torn) {
    if (record.headers[EVENT_MARKER_HEADER] !== undefined) continue
    const key = record.key === null ? undefined : utf8.decode(record.key)
    const store = key === undefined ? undefined : target(record.topic, key)
    if (key !== undefined && store !== undefined) store.store.rewrite(key.slice(store.prefix.length))
  }
  if (torn.size > 0) {
    const present = counts === "records" ? torn.size : lastRecords.filter((r) => r.value !== null).length
    problems.push(`the last event (${last}) wrote ${present} of its ${announced} changelog ${counts} before it stopped: dropped, its input is read again`)
  }
  for (const store of task.stores) store.restored(now)
  return { records, skipped, problems, torn: torn.size }
}
