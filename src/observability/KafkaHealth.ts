/**
 * Whether the brokers answer, for readiness and the status page: a light metadata request
 * through the Kafka port every few seconds. Kafka counts as reachable while the last
 * answer is recent, so a broker that stops answering (down, partitioned, frozen) turns
 * the service unready within `staleAfterMs`, and ready again with the next answer.
 */
import { Clock, Context, Effect, Layer, Metric, Ref, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { KafkaClient } from "../kernel/kafka/KafkaPort.ts"

export interface KafkaConnection {
  readonly connected: boolean
  /** When the brokers last answered (epoch ms). */
  readonly lastOkAt: number | undefined
  /** The last failed check, if it came after the last answer. */
  readonly lastError: string | undefined
}

interface Observed {
  readonly lastOkAt: number | undefined
  readonly lastErrorAt: number | undefined
  readonly lastError: string | undefined
}

export interface ProbeTiming {
  readonly intervalMs: number
  /** Unreachable when the last answer is older than this (or a check failed since). */
  readonly staleAfterMs: number
  /** A check still waiting after this long is abandoned and counts as failed. */
  readonly probeTimeoutMs: number
}

export const defaultTiming: ProbeTiming = { intervalMs: 2_000, staleAfterMs: 7_000, probeTimeoutMs: 10_000 }

export const kafkaConnected = Metric.gauge("review_aggregator_kafka_connected", {
  description: "1 while the Kafka brokers answer metadata requests, else 0",
  attributes: { unit: "1" }
})
export const kafkaLastContact = Metric.gauge("review_aggregator_kafka_last_contact_timestamp_seconds", {
  description: "When the Kafka brokers last answered (Unix time); 0 before the first answer",
  attributes: { unit: "s" }
})

const connectionAt = (observed: Observed, now: number, timing: ProbeTiming): KafkaConnection => {
  const failedSince = observed.lastErrorAt !== undefined && (observed.lastOkAt === undefined || observed.lastErrorAt > observed.lastOkAt)
  return {
    connected: observed.lastOkAt !== undefined && now - observed.lastOkAt <= timing.staleAfterMs && !failedSince,
    lastOkAt: observed.lastOkAt,
    lastError: failedSince ? observed.lastError : undefined
  }
}

export class KafkaHealth extends Context.Service<KafkaHealth, {
  readonly current: Effect.Effect<KafkaConnection>
  readonly answered: (at: number) => Effect.Effect<void>
  readonly failed: (at: number, message: string) => Effect.Effect<void>
}>()("review-aggregator/KafkaHealth") {
  /** The connection state, unreachable until `probing` gets a first answer. */
  static readonly layerWith = (timing: ProbeTiming) => Layer.effect(KafkaHealth, Effect.gen(function*() {
    const observed = yield* Ref.make<Observed>({ lastOkAt: undefined, lastErrorAt: undefined, lastError: undefined })
    yield* Metric.update(kafkaConnected, 0)
    yield* Metric.update(kafkaLastContact, 0)
    return KafkaHealth.of({
      current: Effect.gen(function*() {
        return connectionAt(yield* Ref.get(observed), yield* Clock.currentTimeMillis, timing)
      }),
      answered: (at) => Ref.update(observed, (o) => ({ ...o, lastOkAt: at })),
      failed: (at, message) => Ref.update(observed, (o) => ({ ...o, lastErrorAt: at, lastError: message }))
    })
  }))

  static readonly layer = KafkaHealth.layerWith(defaultTiming)

  /**
   * Checks the brokers (a partition count of the control topic) for the lifetime of the
   * layer, keeping the gauges current and logging each change of reachability.
   */
  static readonly probingWith = (timing: ProbeTiming) => Layer.effectDiscard(Effect.gen(function*() {
    const health = yield* KafkaHealth
    const kafka = yield* KafkaClient
    const { controlTopic } = yield* AppConfig
    const check = kafka.partitionCount(controlTopic).pipe(
      Effect.timeoutOrElse({
        duration: timing.probeTimeoutMs,
        orElse: () => Effect.fail({ message: `no answer within ${timing.probeTimeoutMs} ms` })
      }),
      Effect.matchEffect({
        onSuccess: () => Effect.flatMap(Clock.currentTimeMillis, health.answered),
        onFailure: (e) => Effect.flatMap(Clock.currentTimeMillis, (now) => health.failed(now, e.message))
      })
    )
    yield* Effect.forkScoped(Effect.repeat(check, Schedule.spaced(timing.intervalMs)))

    // Start-up waits for the brokers elsewhere (with its own logs): only losing and
    // regaining them after the first answer is news here.
    let wasConnected = false
    let everConnected = false
    const publish = Effect.gen(function*() {
      const connection = yield* health.current
      yield* Metric.update(kafkaConnected, connection.connected ? 1 : 0)
      if (connection.lastOkAt !== undefined) yield* Metric.update(kafkaLastContact, connection.lastOkAt / 1000)
      if (wasConnected === connection.connected) return
      if (everConnected) {
        yield* connection.connected
          ? Effect.logInfo("Kafka reachable again")
          : Effect.logWarning(`Kafka unreachable: ${connection.lastError ?? `no answer from the brokers for over ${timing.staleAfterMs} ms`}`)
      }
      wasConnected = connection.connected
      everConnected ||= connection.connected
    })
    yield* Effect.forkScoped(Effect.repeat(publish, Schedule.spaced("500 millis")))
  }))

  static readonly probing = KafkaHealth.probingWith(defaultTiming)
}
