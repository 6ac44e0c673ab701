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

/**
 * UTF-8 bytes of many small texts, carved from 256 KiB slabs: `Buffer.from` takes a new
 * 8 KiB pool every few rows, and allocating those pools costs more than the encoding.
 * A slab lives as long as any row cut from it (the batch being written).
 */
const SLAB_BYTES = 256 * 1024
let slab = Buffer.allocUnsafeSlow(0)
let used = 0
const utf8 = (text: string): Uint8Array => {
  const room = text.length * 3
  if (room > SLAB_BYTES / 16) return Buffer.from(text)
  if (used + room > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
    used = 0
  }
  const start = used
  used += slab.write(text, start, "utf8")
  return slab.subarray(start, used)
}

export const make = <A>(options: SinkOptions<A>): Sink<A> => {
  // Encoding validates: an output that breaks its own Schema is a bug, and throws.
  const encode = Schema.encodeSync(Schema.toCodecJson(options.schema))
  const text: (value: A) => string | Uint8Array = options.prevalidated === true ? (value: A) => utf8(JSON.stringify(value)) : (value: A) => JSON.stringify(encode(value))
  return {
    topic: options.topic,
    record: (value, headers) => ({ topic: options.topic, key: options.key(value), value: text(value), headers })
  }
}
