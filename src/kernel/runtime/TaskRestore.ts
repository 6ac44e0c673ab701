/**
 * Restores task stores from their changelogs before the task handles anything: every
 * changelog record in log order, keys routed to their store (by prefix when stores
 * share a topic), the last value winning as compaction would leave it. A record that
 * does not decode is reported and skipped.
 */
import { Effect, Result } from "effect"
import { KafkaClient, type ConsumedRecord } from "../kafka/KafkaPort.ts"
import type { TaskInstance } from "./TaskInstance.ts"

const utf8 = new TextDecoder()

export interface RestoreReport {
  readonly records: number
  readonly skipped: number
  readonly problems: ReadonlyArray<string>
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

/** Fills a new task's stores; `partition` undefined restores a single task from every partition. */
export const restoreTask = (task: TaskInstance<any>, backlog: ChangelogBacklog, partition: number | undefined, now: number): RestoreReport => {
  let records = 0
  let skipped = 0
  const problems: Array<string> = []
  const byTopic = new Map<string, Array<{ readonly prefix: string; readonly task: TaskInstance<any>["stores"][number] }>>()
  for (const { topic, prefix, store } of task.changelogs) {
    const list = byTopic.get(topic) ?? []
    list.push({ prefix, task: store })
    byTopic.set(topic, list)
  }
  for (const [topic, stores] of byTopic) {
    for (const record of backlog.records(topic, partition)) {
      records++
      const key = record.key === null ? undefined : utf8.decode(record.key)
      const target = key === undefined ? undefined : stores.find((s) => key.startsWith(s.prefix))
      const problem = key === undefined || target === undefined
        ? `record without a key of this task's stores`
        : Result.match(target.task.restore({ key: key.slice(target.prefix.length), value: record.value === null ? null : utf8.decode(record.value) }), {
          onSuccess: () => undefined,
          onFailure: (message) => message
        })
      if (problem !== undefined) {
        skipped++
        if (problems.length < MAX_PROBLEMS) problems.push(`${topic}[${record.partition}]@${record.offset}: ${problem}`)
      }
    }
  }
  for (const store of task.stores) store.restored(now)
  return { records, skipped, problems }
}
