/**
 * A typed output: a topic, the Schema its values are encoded with, and how a value is
 * keyed. Handlers publish typed values; the Sink turns them into records, so no output
 * is encoded by hand and none can leave in a shape its Schema does not allow.
 */
import { Schema } from "effect"
import type { Headers, OutgoingRecord } from "../kafka/KafkaPort.ts"

export interface Sink<A> {
  readonly topic: string
  readonly record: (value: A, headers?: Headers) => OutgoingRecord
}

export interface SinkOptions<A> {
  readonly topic: string
  readonly schema: Schema.Codec<A, any>
  readonly key: (value: A) => string | null
  /**
   * For a hot output whose values are built only from parts already decoded by input
   * Schemas, and whose JSON form is the value itself: written with `JSON.stringify`,
   * without the Schema's encoder walking every field again (tests decode such outputs
   * with the Schema), and held as UTF-8 bytes until the batch is written: the producer
   * needs bytes anyway, and bytes outside the JS heap cost the collector nothing, where
   * a batch of two-byte strings is copied by every collection it lives through.
   */
  readonly prevalidated?: boolean | undefined
}

export const make = <A>(options: SinkOptions<A>): Sink<A> => {
  // Encoding validates: an output that breaks its own Schema is a bug, and throws.
  const encode = Schema.encodeSync(Schema.toCodecJson(options.schema))
  const text: (value: A) => string | Uint8Array = options.prevalidated === true ? (value: A) => Buffer.from(JSON.stringify(value)) : (value: A) => JSON.stringify(encode(value))
  return {
    topic: options.topic,
    record: (value, headers) => ({ topic: options.topic, key: options.key(value), value: text(value), headers })
  }
}
