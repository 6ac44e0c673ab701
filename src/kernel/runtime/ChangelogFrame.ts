/**
 * The frame of an event's changelog records: the event's number, how many records it
 * wrote and how many of them are values (not tombstones), carried by every record so a
 * restore can find the last event and tell whether its write was cut short (see
 * TaskRestore). Compaction may remove tombstones but never a value of the last event, so
 * the values count is what restore judges by.
 *
 * One header, `changelog.frame: <event>/<records>/<values>`. Frames were three headers
 * before (`changelog.event`, `changelog.event.records`, and since later
 * `changelog.event.values`), and are still read: every header costs kafkajs a buffer of
 * its own per record (1.5 to 3 µs each, bench/ProduceEncoding.ts), and changelog records
 * are many where many entities change at once. A service of the earlier format reading
 * frames of this one sees no frame (event 0): it restores every record and cannot tell a
 * cut event.
 */
import type { Headers } from "../kafka/KafkaPort.ts"

export const FRAME_HEADER = "changelog.frame"
/** The earlier frame's headers, read for changelogs written before FRAME_HEADER. */
export const LEGACY_EVENT_HEADER = "changelog.event"
export const LEGACY_RECORDS_HEADER = "changelog.event.records"
export const LEGACY_VALUES_HEADER = "changelog.event.values"

export interface Frame {
  readonly event: number
  /** Undefined in a frame of the earlier format without its records count. */
  readonly records: number | undefined
  /** Undefined in the oldest frames, which only counted records. */
  readonly values: number | undefined
}

export const frameHeaders = (event: number, records: number, values: number): Headers => ({
  [FRAME_HEADER]: `${event}/${records}/${values}`
})

const count = (text: string | undefined): number | undefined =>
  text === undefined || !/^\d+$/.test(text) ? undefined : Number(text)

/** A record's frame, in either format; undefined for a record without one, or with a damaged one. */
export const readFrame = (headers: Headers): Frame | undefined => {
  const frame = headers[FRAME_HEADER]
  if (frame !== undefined) {
    const parts = frame.split("/")
    const [event, records, values] = parts.map(count)
    return parts.length !== 3 || event === undefined || records === undefined || values === undefined ? undefined : { event, records, values }
  }
  const event = count(headers[LEGACY_EVENT_HEADER])
  return event === undefined ? undefined : { event, records: count(headers[LEGACY_RECORDS_HEADER]), values: count(headers[LEGACY_VALUES_HEADER]) }
}
