/**
 * Span names and attributes for Kafka writes after the OpenTelemetry messaging semantic
 * conventions, given through Effect's tracer options so adapters need no tracing library.
 */
import { Effect } from "effect"
import type { SpanOptionsNoTrace } from "effect/Tracer"
import type { OutgoingRecord } from "./KafkaPort.ts"

/** One PRODUCER span per write: `send <topic>`, or plain `send` when it spans several topics. */
export const sendSpan = (records: ReadonlyArray<OutgoingRecord>): { readonly name: string; readonly options: SpanOptionsNoTrace } => {
  const topics = new Set(records.map((r) => r.topic))
  const only = topics.size === 1 ? [...topics][0]! : undefined
  return {
    name: only === undefined ? "send" : `send ${only}`,
    options: {
      kind: "producer",
      attributes: {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.batch.message_count": records.length,
        ...(only === undefined ? { "messaging.kafka.destinations": [...topics].sort().join(",") } : { "messaging.destination.name": only })
      }
    }
  }
}

/** Runs a write of `records` inside its `send` span. */
export const withSendSpan = (records: ReadonlyArray<OutgoingRecord>) => <A, E, R>(write: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const span = sendSpan(records)
  return Effect.withSpan(write, span.name, span.options)
}
