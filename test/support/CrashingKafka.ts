/**
 * A KafkaClient around the embedded broker's that dies like kill -9 at one chosen write of
 * the stream processor: nothing after the crash point reaches the broker, whatever the
 * dead life still tries. Crash tests restart the service on the same broker.
 */
import { Clock, Deferred, Effect } from "effect"
import {
  KafkaClient,
  KafkaError,
  type OutgoingRecord,
  type TopicPartitionOffset,
  type TransactionContext
} from "../../src/kernel/kafka/KafkaPort.ts"

/**
 * Where a life dies, in the order the processor writes an event (outputs, changelog,
 * offsets). `mid-*` writes a prefix of the records (at least one, not all) and dies.
 */
export const crashPoints = [
  "before outputs",
  "mid outputs",
  "between outputs and changelog",
  "mid changelog",
  "between changelog and commit",
  "after commit"
] as const
/** Where a life that writes each event in one transaction (exactly_once_v2) dies. */
export const transactionCrashPoints = ["before transaction commit", "after transaction commit"] as const

export type CrashPoint = (typeof crashPoints)[number] | (typeof transactionCrashPoints)[number]

export interface CrashPlan {
  readonly point: CrashPoint
  /** How many writes matching the point are let through before the one that dies. */
  readonly skip: number
  /** Records written of an `n`-record produce that dies in the middle (1 to n - 1). */
  readonly prefix: (n: number) => number
  /** Clock time before which no write counts toward the crash (to kill during later clock work). */
  readonly notBefore?: number | undefined
}

/** What a crash did, for the test's report and for reproducing it. */
export interface Crash {
  readonly point: CrashPoint
  /** Index of the dying write among all writes of its life. */
  readonly write: number
  /** Records (or offsets) of the dying write that reached the broker, of how many. */
  readonly written: number
  readonly of: number
}

type Write = "outputs" | "changelog" | "commit" | "transaction"

const isChangelog = (topic: string) => topic.endsWith("-changelog")

const kindOf = (records: ReadonlyArray<OutgoingRecord>): Write => records.every((r) => isChangelog(r.topic)) ? "changelog" : "outputs"

/** Whether `point` falls on this write, given the write before it in the same life. */
const falls = (point: CrashPoint, write: Write, previous: Write | undefined, size: number): boolean => {
  switch (point) {
    case "before outputs":
      return write === "outputs"
    case "mid outputs":
      return write === "outputs" && size >= 2
    case "between outputs and changelog":
      return write === "changelog" && previous === "outputs"
    case "mid changelog":
      return write === "changelog" && size >= 2
    case "between changelog and commit":
      return write === "commit" && previous === "changelog"
    case "after commit":
      return write === "commit"
    case "before transaction commit":
    case "after transaction commit":
      return write === "transaction"
  }
}

/** How much of the dying write still reaches the broker. */
const survives = (point: CrashPoint, size: number, prefix: (n: number) => number): number =>
  point === "after commit" || point === "after transaction commit"
    ? size
    : point.startsWith("mid")
    ? Math.min(size - 1, Math.max(1, prefix(size)))
    : 0

/** Wraps `inner` for one life. Without a plan it never crashes. */
export const crashingKafka = (inner: KafkaClient["Service"], plan: CrashPlan | undefined) =>
  Effect.gen(function*() {
    const crashed = yield* Deferred.make<Crash>()
    let dead = false
    let writes = 0
    let matching = 0
    let previous: Write | undefined

    const killed = (operation: string) =>
      new KafkaError({ operation, message: "the process was killed (crash test)", retriable: false })

    /** Whether the process dies at this write (after letting out what `survives` says). */
    const diesAt = (kind: Write, size: number, now: number): Crash | undefined => {
      const index = writes++
      const before = previous
      previous = kind
      const armed = plan !== undefined && now >= (plan.notBefore ?? 0)
      if (!armed || !falls(plan.point, kind, before, size) || matching++ < plan.skip) return undefined
      dead = true
      return { point: plan.point, write: index, written: survives(plan.point, size, plan.prefix), of: size }
    }
    const die = (kind: Write, crash: Crash) => Effect.andThen(Deferred.succeed(crashed, crash), Effect.fail(killed(kind)))

    /** Runs one write, or the part of it that gets out before the process dies. */
    const write = <A>(kind: Write, items: ReadonlyArray<A>, perform: (items: ReadonlyArray<A>) => Effect.Effect<void, KafkaError>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (dead) return Effect.fail(killed(kind))
        const crash = diesAt(kind, items.length, now)
        if (crash === undefined) return perform(items)
        return Effect.andThen(crash.written > 0 ? perform(items.slice(0, crash.written)) : Effect.void, die(kind, crash))
      })

    /** A transaction is one write: the process dies before its commit point (all of it aborted) or after. */
    const transaction = <A, E>(body: (tx: TransactionContext) => Effect.Effect<A, E>): Effect.Effect<A, E | KafkaError> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (dead) return Effect.fail(killed("transaction"))
        const crash = diesAt("transaction", 1, now)
        if (crash === undefined) return inner.transaction(body)
        return crash.written > 0
          ? Effect.andThen(inner.transaction(body), die("transaction", crash))
          : inner.transaction((tx) => Effect.andThen(body(tx), die("transaction", crash)))
      })

    const client = KafkaClient.of({
      ...inner,
      produce: (records) => write(kindOf(records), records, inner.produce),
      subscribe: (options) =>
        Effect.map(inner.subscribe(options), (subscription) => ({
          ...subscription,
          commit: (offsets: ReadonlyArray<TopicPartitionOffset>) => write("commit", offsets, subscription.commit)
        })),
      transaction
    })
    return { client, crashed }
  })
