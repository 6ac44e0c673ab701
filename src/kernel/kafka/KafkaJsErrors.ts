/**
 * Every kafkajs failure becomes a KafkaError, with `retriable` decided the way kafkajs
 * itself decides whether to restart a consumer: by the innermost cause. Writes (produce,
 * transactions, commits) return it to their caller, whose retry policy decides; start-up
 * and admin calls wait out retriable failures here (retryRetriable), interruptibly.
 */
import { Effect, Schedule } from "effect"
import { KafkaError } from "./KafkaPort.ts"

interface KafkaJsLikeError {
  readonly name?: unknown
  readonly message?: unknown
  readonly type?: unknown
  readonly retriable?: unknown
  readonly cause?: unknown
  readonly originalError?: unknown
}

const asRecord = (u: unknown): KafkaJsLikeError | undefined =>
  typeof u === "object" && u !== null ? (u as KafkaJsLikeError) : undefined

/** The error at the bottom of kafkajs's wrapping (retries exceeded -> connection refused). */
export const rootCause = (error: unknown): unknown => {
  let current = error
  for (let depth = 0; depth < 10; depth++) {
    const e = asRecord(current)
    const next = e?.cause ?? e?.originalError
    if (next === undefined || next === current) return current
    current = next
  }
  return current
}

const isKafkaJs = (e: KafkaJsLikeError | undefined): boolean =>
  typeof e?.name === "string" && e.name.startsWith("KafkaJS")

/**
 * Non-retriable no matter what kafkajs says: retrying a fenced producer, a bad
 * credential or an oversized record cannot succeed.
 */
const neverRetriable = new Set([
  "INVALID_PRODUCER_EPOCH",
  "PRODUCER_FENCED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_TOPIC_EXCEPTION",
  "UNSUPPORTED_VERSION"
])

export const isRetriable = (error: unknown): boolean => {
  const outer = asRecord(error)
  const root = asRecord(rootCause(error))
  if (!isKafkaJs(outer) && !isKafkaJs(root)) return false
  if (typeof root?.type === "string" && neverRetriable.has(root.type)) return false
  // "Retries exceeded" is non-retriable for kafkajs's own loop, but the broker may come back.
  return root?.retriable === true
}

const describe = (error: unknown): string => {
  const e = asRecord(error)
  if (e === undefined) return String(error)
  const name = typeof e.name === "string" ? e.name : "Error"
  const message = typeof e.message === "string" ? e.message : String(error)
  const root = asRecord(rootCause(error))
  const rootText = root !== undefined && root !== e && typeof root.message === "string"
    ? ` (caused by ${String(root.name ?? "Error")}: ${root.message})`
    : ""
  return `${name}: ${message}${rootText}`
}

export const toKafkaError = (operation: string) => (cause: unknown): KafkaError =>
  cause instanceof KafkaError
    ? cause
    : new KafkaError({ operation, message: describe(cause), retriable: isRetriable(cause), cause })

/** Runs a kafkajs call, mapping its rejection. */
export const attempt = <A>(operation: string, call: () => Promise<A>): Effect.Effect<A, KafkaError> =>
  Effect.tryPromise({ try: call, catch: toKafkaError(operation) })

/** Exponential from 200 ms, capped at 30 s: fast recovery from a blip, no hammering during an outage. */
const backoff = Schedule.min([Schedule.exponential("200 millis"), Schedule.spaced("30 seconds")])

/**
 * Retries retriable KafkaErrors for as long as it takes (each retry is logged);
 * non-retriable ones fail at once. Interruption stops the waiting. For connecting and
 * admin calls only: writes are retried by their caller (one retry policy for writes).
 */
export const retryRetriable = <A, E, R>(self: Effect.Effect<A, E | KafkaError, R>): Effect.Effect<A, E | KafkaError, R> =>
  self.pipe(
    Effect.tapError((error) =>
      error instanceof KafkaError && error.retriable
        ? Effect.logWarning(`Kafka ${error.operation} failed, retrying: ${error.message}`)
        : Effect.void
    ),
    Effect.retry({ schedule: backoff, while: (error) => error instanceof KafkaError && error.retriable })
  )
