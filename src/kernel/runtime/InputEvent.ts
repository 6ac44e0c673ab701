/**
 * What the runtime handles at once: records of one or several input partitions in the
 * order they are to be processed, and per partition where reading continues (the offset
 * to commit once the event is written) and the high watermark last known.
 */
import type { ConsumedRecord, TopicPartitionOffset } from "../kafka/KafkaPort.ts"

export interface PartitionRead {
  readonly topic: string
  readonly partition: number
  /** Offset after the last record of this partition in the event: what to commit. */
  readonly nextOffset: number
  /** Offset after the partition's last record as last fetched, if known (for lag and catching up). */
  readonly highWatermark: number | undefined
  readonly records: number
}

export interface InputEvent {
  /** In processing order: record-timestamp order across partitions, offset order within one. */
  readonly records: ReadonlyArray<ConsumedRecord>
  /** One entry per partition the event took records from. */
  readonly partitions: ReadonlyArray<PartitionRead>
}

/** The offsets that commit an event: the next offset of each partition it read. */
export const offsetsOf = (event: InputEvent): ReadonlyArray<TopicPartitionOffset> =>
  event.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.nextOffset }))

/** The topics an event read, sorted. */
export const topicsOf = (event: InputEvent): ReadonlyArray<string> => [...new Set(event.partitions.map((p) => p.topic))].sort()

