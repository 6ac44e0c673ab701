/**
 * A stateless first stage that re-keys input records so that a later stage can own its
 * state by key: every record of input topic T goes to `<APPLICATION_ID>-<T>-repartition`,
 * keyed and partitioned (murmur2, as Kafka's default partitioner) by the key its domain
 * reads, with its original coordinates in headers (source/OriginHeaders.ts). Records
 * with no readable key are dead-lettered here with the reason decoding gives them.
 */
import type { ConsumedRecord } from "../kafka/KafkaPort.ts"
import { partitionForKey } from "../kafka/Murmur2.ts"
import type { TaskDefinition } from "../runtime/Task.ts"
import { splitByKey, type KeyOf } from "../source/KeyedSplit.ts"
import { originHeaders } from "../source/OriginHeaders.ts"
import type { Source } from "../source/Source.ts"

export interface RepartitionInput {
  /** The source of the input topic: its envelope, and the reasons of what has no key. */
  readonly source: Source<unknown>
  readonly keyOf: KeyOf
}

export interface RepartitionOptions {
  readonly name: string
  readonly applicationId: string
  /**
   * Partitions of every repartition topic. One count for all inputs, so one key lands on
   * the same partition number of each (co-partitioned for the stage that reads them).
   */
  readonly partitions: number
  readonly inputs: ReadonlyArray<RepartitionInput>
}

export const repartitionTopic = (applicationId: string, topic: string): string => `${applicationId}-${topic}-repartition`

const utf8 = new TextEncoder()

export const repartition = (options: RepartitionOptions): TaskDefinition => {
  if (!Number.isInteger(options.partitions) || options.partitions < 1) {
    throw new Error(`repartition ${options.name}: partitions must be a positive integer, got ${options.partitions}`)
  }
  const byTopic = new Map(options.inputs.map((i) => [i.source.topic, { ...i, target: repartitionTopic(options.applicationId, i.source.topic) }]))
  return {
    name: options.name,
    topics: [...byTopic.keys()],
    stores: [],
    partitioning: "perPartition",
    make: () => ({
      process: (record: ConsumedRecord, ctx) => {
        const input = byTopic.get(record.topic)
        if (input === undefined) throw new Error(`no input handles topic ${record.topic}`)
        const { parts, rejected } = splitByKey(input.source, input.keyOf, record)
        for (const r of rejected) ctx.deadLetter(r.source, r.reason)
        for (const part of parts) {
          ctx.emit({
            topic: input.target,
            key: part.key,
            value: part.value,
            partition: partitionForKey(utf8.encode(part.key), options.partitions),
            // The record time travels too: a later stage's windows and ordering compare record times.
            timestamp: record.timestamp,
            headers: originHeaders(record, part.indices)
          })
        }
      }
    })
  }
}
