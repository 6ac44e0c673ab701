/**
 * Typed state stores: the write cache sends one changelog record per changed key per
 * batch (none for a key put and deleted within it), a handler that throws part-way
 * leaves no trace in any store or the changelog, and restore skips (and reports) what it
 * cannot decode.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import type { TaskDefinition } from "../../src/kernel/runtime/Task.ts"
import * as Inputs from "../../src/kernel/runtime/Inputs.ts"
import * as Source from "../../src/kernel/source/Source.ts"
import { KeyValueStore } from "../../src/kernel/store/KeyValueStore.ts"
import * as StoreKey from "../../src/kernel/store/StoreKey.ts"
import type { StoreSpec } from "../../src/kernel/store/StoreSpec.ts"
import { TaskHarness } from "../../src/kernel/testing/TaskHarness.ts"
import { isEventMarker } from "../../src/kernel/runtime/TaskInstance.ts"

const counts: StoreSpec<string, number> = { name: "counts", key: StoreKey.string, value: Schema.Int }
const log: StoreSpec<string, ReadonlyArray<string>> = { name: "log", key: StoreKey.string, value: Schema.Array(Schema.String) }

const Command = Schema.Struct({ key: Schema.String, op: Schema.Literals(["add", "delete", "add-then-fail"]) })

/** Adds to a counter and appends to a log per command; `add-then-fail` throws after both writes. */
const task: TaskDefinition<never> = {
  name: "commands",
  topics: ["commands"],
  stores: [counts, log],
  partitioning: "single",
  make: (stores) => {
    const c = stores.get(counts)
    const l = stores.get(log)
    return {
      process: Inputs.route([Inputs.input({
        source: Source.make({ topic: "commands", schema: Command }),
        element: ({ value }) => {
          if (value.op === "delete") {
            c.delete(value.key)
            l.delete(value.key)
            return
          }
          c.put(value.key, (c.get(value.key) ?? 0) + 1)
          l.put(value.key, [...(l.get(value.key) ?? []), value.op])
          if (value.op === "add-then-fail") throw new Error("boom after two writes")
        }
      })])
    }
  }
}

const harness = () => new TaskHarness(task, { applicationId: "app", dlqTopic: "dlq" })
const send = (h: TaskHarness<never>, key: string, op: string) => h.process({ topic: "commands", value: JSON.stringify({ key, op }) })
const keys = (records: ReadonlyArray<{ readonly topic: string; readonly key: unknown; readonly value: unknown; readonly headers?: Readonly<Record<string, string>> | undefined }>, topic: string) =>
  records.filter((r) => r.topic === topic && !isEventMarker(r)).map((r) => `${String(r.key)}=${r.value === null ? "tombstone" : "value"}`)

describe("state store write cache", () => {
  it("writes one changelog record per changed key per batch, nothing for a key put and deleted in it", () => {
    const h = harness()
    for (let i = 0; i < 5; i++) send(h, "a", "add")
    send(h, "b", "add")
    send(h, "b", "delete")
    const first = h.endBatch()
    expect(keys(first.changelog, "app-counts-changelog")).toEqual(["a=value"])
    expect(JSON.parse(String(first.changelog[0]!.value)), "the last value, with its format version").toEqual({ v: 1, value: 5 })
    send(h, "a", "delete")
    expect(keys(h.endBatch().changelog, "app-counts-changelog"), "a key that existed is deleted with a tombstone").toEqual(["a=tombstone"])
    expect(h.endBatch().changelog, "an unchanged batch writes nothing").toEqual([])
  })
})

describe("writes of unchanged values", () => {
  const snapshots: StoreSpec<string, { readonly n: number }> = {
    name: "snapshots",
    key: StoreKey.string,
    value: Schema.Struct({ n: Schema.Number }),
    writeOnChange: true
  }
  it("writes nothing for the value already there, nor (with writeOnChange) for an equal one, before or after a restore", () => {
    const store = new KeyValueStore(snapshots)
    const one = { n: 1 }
    store.put("a", one)
    expect(store.flush().map((e) => e.value)).toEqual(["{\"v\":1,\"value\":{\"n\":1}}"])
    store.put("a", one)
    store.put("a", { n: 1 })
    expect(store.flush(), "same value again: nothing").toEqual([])
    store.put("a", { n: 2 })
    expect(store.flush().map((e) => e.value)).toEqual(["{\"v\":1,\"value\":{\"n\":2}}"])
    const restored = new KeyValueStore(snapshots)
    restored.restore({ key: "a", value: "{\"v\":1,\"value\":{\"n\":2}}" })
    restored.restored(0)
    restored.put("a", { n: 2 })
    expect(restored.flush(), "equal to the restored value: nothing").toEqual([])
    restored.rewrite("a")
    expect(restored.flush().map((e) => e.key), "a rewrite after a torn event writes anyway").toEqual(["a"])
  })
})

describe("a handler that throws part-way", () => {
  it("leaves every store and the changelog as they were before the record, and dead-letters the record", () => {
    const h = harness()
    send(h, "a", "add")
    send(h, "a", "add-then-fail")
    send(h, "z", "add-then-fail")
    const out = h.endBatch()
    expect(h.store(counts).get("a"), "the counter write of the failed record is undone").toBe(1)
    expect(h.store(log).get("a"), "and so is its write to the other store").toEqual(["add"])
    expect(h.store(counts).has("z"), "a key created by a failed record does not exist").toBe(false)
    expect(keys(out.changelog, "app-counts-changelog")).toEqual(["a=value"])
    expect(JSON.parse(String(out.changelog.find((r) => r.topic === "app-log-changelog")!.value)).value).toEqual(["add"])
    expect(out.records.map((r) => [r.topic, r.headers?.["dlq.error.type"], r.headers?.["dlq.error.message"]])).toEqual([
      ["dlq", "processing", "unexpected failure while handling the record: boom after two writes"],
      ["dlq", "processing", "unexpected failure while handling the record: boom after two writes"]
    ])
  })
})

describe("restore", () => {
  it("rebuilds the stores from the changelog, skipping and reporting records that do not decode", () => {
    const h = harness()
    send(h, "a", "add")
    send(h, "b", "add")
    h.endBatch()
    h.changelog.push({ topic: "app-counts-changelog", key: "c", value: JSON.stringify({ v: 1, value: "not a number" }) })
    h.changelog.push({ topic: "app-counts-changelog", key: "d", value: JSON.stringify({ v: 9, value: 1 }) })
    const report = h.restart()
    expect(report.skipped).toBe(2)
    expect(report.problems.join("\n")).toMatch(/value of key "c": Expected (a )?number/i)
    expect(report.problems.join("\n")).toMatch(/format version 9, this store reads version 1/)
    expect([...h.store(counts).entries()]).toEqual([["a", 1], ["b", 1]])
  })
})

describe("retention", () => {
  it("expires entries a fixed time after their last write, oldest first", () => {
    const store = new KeyValueStore<string, number>({ name: "seen", key: StoreKey.string, value: Schema.Number, ttl: { ms: 100 } })
    store.now = 0
    store.put("a", 1)
    store.now = 50
    store.put("b", 2)
    store.now = 60
    store.put("a", 3) // a write keeps the entry alive
    expect(store.expire(150).map(([k]) => k)).toEqual(["b"])
    expect(store.expire(160).map(([k]) => k)).toEqual(["a"])
    expect(store.size).toBe(0)
  })
})
