/**
 * A KafkaClient around the embedded broker's that dies like kill -9 at one chosen write of
 * the stream processor: nothing after the crash point reaches the broker, whatever the
 * dead life still tries. Crash tests restart the service on the same broker.
 */
import { Clock, Deferred, Effect } from "effect"
import { KafkaClient, KafkaError, type OutgoingRecord, type TopicPartitionOffset } from "../../src/kernel/kafka/KafkaPort.ts"

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
export type CrashPoint = (typeof crashPoints)[number]

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

type Write = "outputs" | "changelog" | "commit"

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
  }
}

/** How much of the dying write still reaches the broker. */
const survives = (point: CrashPoint, size: number, prefix: (n: number) => number): number =>
  point === "after commit" ? size : point.startsWith("mid") ? Math.min(size - 1, Math.max(1, prefix(size))) : 0

/**
 * Wraps `inner` for one life. Without a plan it never crashes. Transactions are refused:
 * this client stands for an at-least-once producer.
 */
export const crashingKafka = (inner: KafkaClient["Service"], plan: CrashPlan | undefined) =>
  Effect.gen(function*() {
    const crashed = yield* Deferred.make<Crash>()
    let dead = false
    let writes = 0
    let matching = 0
    let previous: Write | undefined

    const killed = (operation: string) =>
      new KafkaError({ operation, message: "the process was killed (crash test)", retriable: false })

    /** Runs one write, or the part of it that gets out before the process dies. */
    const write = <A>(kind: Write, items: ReadonlyArray<A>, perform: (items: ReadonlyArray<A>) => Effect.Effect<void, KafkaError>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        if (dead) return Effect.fail(killed(kind))
        const index = writes++
        const before = previous
        previous = kind
        const armed = plan !== undefined && now >= (plan.notBefore ?? 0)
        if (!armed || !falls(plan.point, kind, before, items.length) || matching++ < plan.skip) return perform(items)
        dead = true
        const written = survives(plan.point, items.length, plan.prefix)
        return Effect.andThen(
          written > 0 ? perform(items.slice(0, written)) : Effect.void,
          Effect.andThen(
            Deferred.succeed(crashed, { point: plan.point, write: index, written, of: items.length }),
            Effect.fail(killed(kind))
          )
        )
      })

    const client = KafkaClient.of({
      ...inner,
      produce: (records) => write(kindOf(records), records, inner.produce),
      subscribe: (options) =>
        Effect.map(inner.subscribe(options), (subscription) => ({
          ...subscription,
          commit: (offsets: ReadonlyArray<TopicPartitionOffset>) => write("commit", offsets, subscription.commit)
        })),
      transaction: () => Effect.fail(new KafkaError({ operation: "transaction", message: "the crash test runs at_least_once", retriable: false }))
    })
    return { client, crashed }
  })
