/**
 * Restore from a compacted changelog: compaction removes tombstones (the embedded broker on
 * every read, a real one after delete.retention.ms), so the last event may come back with
 * fewer records than it wrote. It is still restored whole; an event whose write was really
 * cut short is still dropped; and frames written before values were counted still restore.
 * A cut write is the tail of the log, which Kafka never compacts (the active segment), so
 * those cases are also read from a log as written; the embedded broker compacts even its
 * tail on read, where a cut event that overwrote earlier values has already removed them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient, type OutgoingRecord } from "../../src/kernel/kafka/KafkaPort.ts"
import type { TaskDefinition } from "../../src/kernel/runtime/Task.ts"
import { FRAME_HEADER, LEGACY_EVENT_HEADER, LEGACY_RECORDS_HEADER, LEGACY_VALUES_HEADER, readFrame } from "../../src/kernel/runtime/ChangelogFrame.ts"
import { isEventMarker, TaskInstance } from "../../src/kernel/runtime/TaskInstance.ts"
import { ChangelogBacklog, restoreTask } from "../../src/kernel/runtime/TaskRestore.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"
import { changelogTopic, type StoreSpec } from "../../src/kernel/store/StoreSpec.ts"
import { TaskHarness } from "../../src/kernel/testing/TaskHarness.ts"

const utf8 = new TextDecoder()
const counts: StoreSpec<string, number> = { name: "counts", key: StoreKey.string, value: Schema.Int }
const settings = { applicationId: "compacted", dlqTopic: "dlq" }
const topic = changelogTopic(settings.applicationId, counts)

/** `add` counts the record's key, `delete` removes it. */
const task: TaskDefinition<unknown> = {
  name: "commands",
  topics: ["commands"],
  stores: [counts],
  partitioning: "perPartition",
  make: (stores) => {
    const c = stores.get(counts)
    return {
      process: (record) => {
        const key = utf8.decode(record.key!)
        if (utf8.decode(record.value!) === "delete") c.delete(key)
        else c.put(key, (c.get(key) ?? 0) + 1)
      }
    }
  }
}

type Op = readonly [key: string, op: "add" | "delete"]

/** The changelog of one event per list of operations, as the task writes it. */
const changelogOf = (events: ReadonlyArray<ReadonlyArray<Op>>): Array<ReadonlyArray<OutgoingRecord>> => {
  const harness = new TaskHarness(task, settings)
  return events.map((ops) => harness.event(ops.map(([key, op]) => ({ topic: "commands", key, value: op }))).changelog)
}

/**
 * Writes `records` to a changelog topic, compacted on read unless `compact` is false (a log
 * whose tail is not compacted yet), and restores a task from its partition, as an assignment does.
 */
const restoreFrom = (records: ReadonlyArray<OutgoingRecord>, compact = true) =>
  Effect.gen(function*() {
    const broker = yield* EmbeddedKafka.make()
    yield* broker.client.createTopics([{ topic, partitions: 1, replicationFactor: 1, config: compact ? { "cleanup.policy": "compact" } : {} }])
    yield* broker.client.produce(records)
    const read = yield* Effect.provideService(ChangelogBacklog.readPartition([topic], 0), KafkaClient, broker.client)
    const instance = new TaskInstance(task, 0, settings)
    const report = restoreTask(instance, read, 0, 0)
    const store = instance.stores[0]!
    const state = Object.fromEntries(["a", "b", "c", "d"].flatMap((k) => (store.get(k) === undefined ? [] : [[k, store.get(k)]])))
    return { report, state, read: read.records(topic, 0), lastEvent: instance.lastEvent }
  })

/**
 * Today's frames written in the earlier format, three headers (`values`) or, older still,
 * two without the values count (and without the marker, which came with that count).
 */
const legacyFrames = (records: ReadonlyArray<OutgoingRecord>, format: "values" | "records") =>
  records.filter((r) => format === "values" || !isEventMarker(r)).map((r) => {
    const { [FRAME_HEADER]: _frame, ...rest } = r.headers!
    const frame = readFrame(r.headers!)!
    const headers: Record<string, string> = { ...rest, [LEGACY_EVENT_HEADER]: String(frame.event), [LEGACY_RECORDS_HEADER]: String(frame.records) }
    if (format === "values") headers[LEGACY_VALUES_HEADER] = String(frame.values)
    return { ...r, headers }
  })

describe("restore from a compacted changelog", () => {
  it.effect("restores a last event whose tombstone compaction removed", () =>
    Effect.gen(function*() {
      const events = changelogOf([[["a", "add"], ["b", "add"]], [["a", "delete"], ["b", "add"], ["c", "add"]]])
      expect(events[1]!.map((r) => r.value === null), "the event's tombstone is written before its values").toEqual([true, false, false])
      expect(events.flat().map((r) => Object.keys(r.headers!)), "one header frames each record").toEqual(events.flat().map(() => [FRAME_HEADER]))
      const { report, state, read } = yield* restoreFrom(events.flat())
      expect(read.some((r) => r.value === null), "the compacted read has no tombstone left").toBe(false)
      expect(report.torn, `nothing dropped: ${report.problems.join("; ")}`).toBe(0)
      expect(state).toEqual({ b: 2, c: 1 })
    }))

  it.effect("keeps the event before a last one of tombstones only (its marker stays, so the true last event is known)", () =>
    Effect.gen(function*() {
      // Compaction removes a's value of event 1 (superseded) and event 2's tombstone: without
      // the marker event 1 would look like the last event, cut short, and b and c would be lost.
      const events = changelogOf([[["a", "add"], ["b", "add"], ["c", "add"]], [["a", "delete"]]])
      const { report, state, lastEvent } = yield* restoreFrom(events.flat())
      expect(report.torn, `nothing dropped: ${report.problems.join("; ")}`).toBe(0)
      expect(state).toEqual({ b: 1, c: 1 })
      expect(lastEvent, "event numbers continue after the marker's event").toBe(2)
    }))

  it.effect("still drops an event whose write was cut short (some of its values missing)", () =>
    Effect.gen(function*() {
      const events = changelogOf([[["a", "add"]], [["b", "add"], ["c", "add"], ["d", "add"]]])
      const compacted = yield* restoreFrom([...events[0]!, ...events[1]!.slice(0, 2)])
      expect(compacted.report.torn, "the two records of the cut event are dropped").toBe(2)
      expect(compacted.state, "the state before the cut event").toEqual({ a: 1 })
      const overwriting = changelogOf([[["a", "add"]], [["a", "add"], ["b", "add"], ["c", "add"]]])
      const tail = yield* restoreFrom([...overwriting[0]!, ...overwriting[1]!.slice(0, 2)], false)
      expect(tail.report.torn).toBe(2)
      expect(tail.state, "the value the cut event overwrote is back").toEqual({ a: 1 })
    }))

  it.effect("drops a cut event of tombstones only whose marker is missing", () =>
    Effect.gen(function*() {
      const events = changelogOf([[["a", "add"], ["b", "add"]], [["a", "delete"], ["b", "delete"]]])
      expect(events[1]!.filter(isEventMarker), "the event's marker value").toHaveLength(1)
      // The tombstones went out, the write of the values (the marker) did not.
      const { report, state } = yield* restoreFrom([...events[0]!, ...events[1]!.filter((r) => !isEventMarker(r))], false)
      expect(report.torn).toBe(2)
      expect(state, "its input is read again and deletes them again").toEqual({ a: 1, b: 1 })
    }))

  it.effect("restores frames of the format before values were counted (whole, and cut short)", () =>
    Effect.gen(function*() {
      const events = changelogOf([[["a", "add"]], [["a", "add"], ["b", "add"], ["c", "add"]]])
      const whole = yield* restoreFrom(legacyFrames(events.flat(), "records"), false)
      expect(whole.report.torn).toBe(0)
      expect(whole.state).toEqual({ a: 2, b: 1, c: 1 })
      const cut = yield* restoreFrom(legacyFrames([...events[0]!, ...events[1]!.slice(0, 2)], "records"), false)
      expect(cut.report.torn).toBe(2)
      expect(cut.state).toEqual({ a: 1 })
    }))

  it.effect("restores frames of the three-header format (values counted): compacted and whole, or cut short", () =>
    Effect.gen(function*() {
      const events = changelogOf([[["a", "add"], ["b", "add"]], [["a", "delete"], ["b", "add"], ["c", "add"]]])
      const compacted = yield* restoreFrom(legacyFrames(events.flat(), "values"))
      expect(compacted.report.torn, `nothing dropped: ${compacted.report.problems.join("; ")}`).toBe(0)
      expect(compacted.state).toEqual({ b: 2, c: 1 })
      expect(compacted.lastEvent, "event numbers continue from the legacy frames").toBe(2)
      const cut = yield* restoreFrom(legacyFrames([...events[0]!, ...events[1]!.slice(0, 2)], "values"), false)
      expect(cut.report.torn).toBe(2)
      expect(cut.report.problems.join("; ")).toContain("wrote 1 of its 2 changelog values")
      expect(cut.state).toEqual({ a: 1, b: 1 })
    }))
})
