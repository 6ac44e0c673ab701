/**
 * Aligned consumption (issue 8): fetched batches are buffered per topic-partition and
 * cut into events whose records are merged in record-timestamp order across partitions,
 * as Kafka Streams aligns a task's inputs, so one input is not drained long before another.
 *
 * Merging what was fetched is not enough when the client fetches some partitions faster
 * than others (kafkajs fetches by bytes, and again only once a whole fetch is handled):
 * once the idle time lets a cut pass a partition over, the others are read on, and one
 * input may run seconds of record time ahead, its records waiting in the task's state
 * for the other side. So the reader also pauses fetching from partitions that run more
 * than `maxLeadMs` ahead of the slowest partition with unread records (`flow`).
 */
import type { ConsumedRecord, RecordBatch, TopicPartition } from "../kafka/KafkaPort.ts"
import type { InputEvent, PartitionRead } from "./InputEvent.ts"

export interface AlignmentSettings {
  /**
   * How long partitions known to hold unread records, none of them fetched yet, may hold
   * the others back (Kafka Streams' max.task.idle.ms); after that they are passed over
   * until every such partition has records buffered again.
   */
  readonly idleMs: number
  /** Most records in one event. */
  readonly maxEventRecords: number
  /** Most key and value bytes in one event (an event holds at least one record). */
  readonly maxEventBytes: number
  /**
   * How far, in record time, a partition may be fetched ahead of the slowest partition
   * that still holds unread records before it is paused (see `flow`). Default 250 ms.
   */
  readonly maxLeadMs?: number | undefined
}

export const DEFAULT_MAX_LEAD_MS = 250

export const defaultAlignment: AlignmentSettings = {
  idleMs: 100,
  maxEventRecords: 5_000,
  maxEventBytes: 4 * 1024 * 1024,
  maxLeadMs: DEFAULT_MAX_LEAD_MS
}

/** Partitions to pause and to resume now (see `AlignedInput.flow`). */
export interface FlowChange {
  readonly pause: ReadonlyArray<TopicPartition>
  readonly resume: ReadonlyArray<TopicPartition>
}

/** The buffer holds at most this many events' worth; full, it is cut whatever holds it back. */
const BUFFERED_EVENTS = 4

const recordBytes = (r: ConsumedRecord): number => (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0)

class PartitionBuffer {
  private readonly batches: Array<ReadonlyArray<ConsumedRecord>> = []
  private index = 0
  size = 0
  bytes = 0
  inHeap = false
  /** Offset after the last record fetched: buffered or already taken. */
  fetched: number
  highWatermark: number | undefined
  /** Timestamp of the last record fetched: nothing unread of this partition should be earlier. */
  lastTimestamp: number | undefined
  /** Whether the reader last asked the client to stop fetching it (see `AlignedInput.flow`). */
  paused = false
  /**
   * A batch came while it was paused: fetched before the pause, or the client lost the
   * pause (a rejoin, a restart). Which holds is unknown, so `flow` tells the client the
   * state it wants next, pause or resume, even if it is the one it asked for last.
   */
  unsure = false

  constructor(readonly topic: string, readonly partition: number, readonly order: number, fetched: number) {
    this.fetched = fetched
  }

  /** Known to hold records not fetched yet. */
  get lagging(): boolean {
    return this.highWatermark !== undefined && this.highWatermark > this.fetched
  }

  get head(): ConsumedRecord {
    return this.batches[0]![this.index]!
  }

  add(records: ReadonlyArray<ConsumedRecord>): void {
    this.batches.push(records)
    this.size += records.length
    for (const r of records) this.bytes += recordBytes(r)
    const last = records[records.length - 1]!
    this.fetched = last.offset + 1
    this.lastTimestamp = last.timestamp
    if (this.paused) this.unsure = true
  }

  take(): ConsumedRecord {
    const batch = this.batches[0]!
    const record = batch[this.index++]!
    if (this.index === batch.length) {
      this.batches.shift()
      this.index = 0
    }
    this.size--
    this.bytes -= recordBytes(record)
    return record
  }
}

/** Head first: smallest timestamp, ties to the partition known first (stable, deterministic). */
const before = (a: PartitionBuffer, b: PartitionBuffer): boolean =>
  a.head.timestamp < b.head.timestamp || (a.head.timestamp === b.head.timestamp && a.order < b.order)

/** A binary heap of the partitions that have records buffered, by their head record. */
class Heads {
  private readonly items: Array<PartitionBuffer> = []

  get size(): number {
    return this.items.length
  }

  peek(): PartitionBuffer | undefined {
    return this.items[0]
  }

  push(p: PartitionBuffer): void {
    p.inHeap = true
    this.items.push(p)
    let i = this.items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(this.items[i]!, this.items[parent]!)) break
      this.swap(i, parent)
      i = parent
    }
  }

  pop(): void {
    const top = this.items[0]!
    top.inHeap = false
    const last = this.items.pop()!
    if (last === top) return
    this.items[0] = last
    this.headChanged()
  }

  /** Restores the order after the first partition's head changed. */
  headChanged(): void {
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let smallest = i
      if (l < this.items.length && before(this.items[l]!, this.items[smallest]!)) smallest = l
      if (r < this.items.length && before(this.items[r]!, this.items[smallest]!)) smallest = r
      if (smallest === i) return
      this.swap(i, smallest)
      i = smallest
    }
  }

  private swap(i: number, j: number): void {
    const t = this.items[i]!
    this.items[i] = this.items[j]!
    this.items[j] = t
  }
}

export class AlignedInput {
  private readonly partitions = new Map<string, PartitionBuffer>()
  private heads = new Heads()
  /** Partitions get their tie-break order as they first appear (a dropped one gets a new one). */
  private known = 0
  private bufferedRecords = 0
  private bufferedBytes = 0
  /** Set when a lagging partition first ran empty; cleared once none is empty. */
  private idleDeadline: number | undefined
  /** Something `flow` depends on changed since it last ran. */
  private flowStale = false

  constructor(private readonly settings: AlignmentSettings = defaultAlignment) {}

  /**
   * Buffers a fetched batch; records below what was already fetched (a redelivery) are
   * dropped. A batch may also move the partition's position past records the client
   * filtered out (`nextOffset`: transaction markers, aborted records), with or without
   * records of its own: otherwise a partition whose log ends in such records would look
   * as if it held unread records for ever.
   */
  add(batch: RecordBatch): void {
    const p = this.partition(batch.topic, batch.partition, batch.records[0]?.offset ?? batch.nextOffset ?? 0)
    if (batch.highWatermark !== undefined && batch.highWatermark > (p.highWatermark ?? 0)) {
      p.highWatermark = batch.highWatermark
      this.flowStale = true
    }
    const fresh = batch.records.filter((r) => r.offset >= p.fetched)
    if (fresh.length > 0) p.add(fresh)
    if (batch.nextOffset !== undefined && batch.nextOffset > p.fetched) {
      p.fetched = batch.nextOffset
      this.flowStale = true
    }
    if (fresh.length === 0) return
    this.flowStale = true
    this.bufferedRecords += fresh.length
    for (const r of fresh) this.bufferedBytes += recordBytes(r)
    if (!p.inHeap) this.heads.push(p)
  }

  /**
   * What the broker says of a partition (e.g. of one no batch came from yet): its high
   * watermark, and the committed offset where reading starts (the earliest when none).
   */
  observe(topic: string, partition: number, highWatermark: number, committed: number | undefined): void {
    const p = this.partition(topic, partition, committed ?? 0)
    if (p.highWatermark !== undefined && highWatermark <= p.highWatermark) return
    p.highWatermark = highWatermark
    this.flowStale = true
  }

  /**
   * Forgets partitions this member no longer holds: their buffered records (the next
   * holder reads them from the committed offset) and what was known of them, so they
   * hold no cut back.
   */
  drop(partitions: ReadonlyArray<{ readonly topic: string; readonly partition: number }>): void {
    let dropped = false
    for (const { topic, partition } of partitions) {
      const key = `${topic}\u0000${partition}`
      const p = this.partitions.get(key)
      if (p === undefined) continue
      this.partitions.delete(key)
      this.bufferedRecords -= p.size
      this.bufferedBytes -= p.bytes
      dropped ||= p.inHeap
      this.flowStale = true
    }
    if (!dropped) return
    const heads = new Heads()
    for (const p of this.partitions.values()) if (p.size > 0) heads.push(p)
    this.heads = heads
  }

  /** Whether the buffer reached its bound: fetch no more until an event is cut. */
  get full(): boolean {
    return this.bufferedRecords >= BUFFERED_EVENTS * this.settings.maxEventRecords ||
      this.bufferedBytes >= BUFFERED_EVENTS * this.settings.maxEventBytes
  }

  get buffered(): number {
    return this.bufferedRecords
  }

  /** Partitions the reader last asked the client to pause (see `flow`). */
  get pausedPartitions(): number {
    let n = 0
    for (const p of this.partitions.values()) if (p.paused) n++
    return n
  }

  /**
   * When the partitions holding the cut back stop doing so, if they do now; the reader
   * waits for a batch or this time, whichever comes first.
   */
  deadline(): number | undefined {
    return this.heads.size > 0 ? this.idleDeadline : undefined
  }

  /**
   * The next event at `now`, or undefined when nothing is buffered or a lagging partition
   * with nothing buffered holds it back (its next record may be earlier than every head).
   * Takes records head by head, smallest timestamp first, until a bound is reached, the
   * buffer is empty, or a lagging partition runs empty. A full buffer is cut regardless.
   */
  cut(now: number): InputEvent | undefined {
    const forced = this.full
    let waiting = false
    for (const p of this.partitions.values()) {
      if (p.size === 0 && p.lagging && !p.paused) {
        waiting = true
        break
      }
    }
    if (!waiting) this.idleDeadline = undefined
    const heldBack = () => {
      if (this.idleDeadline === undefined) this.idleDeadline = now + this.settings.idleMs
      return !forced && now < this.idleDeadline
    }
    if (this.heads.size === 0 || (waiting && heldBack())) return undefined

    const records: Array<ConsumedRecord> = []
    const read = new Map<PartitionBuffer, number>()
    let bytes = 0
    while (records.length < this.settings.maxEventRecords && bytes < this.settings.maxEventBytes) {
      const p = this.heads.peek()
      if (p === undefined) break
      const record = p.take()
      records.push(record)
      bytes += recordBytes(record)
      read.set(p, (read.get(p) ?? 0) + 1)
      if (p.size > 0) {
        this.heads.headChanged()
        continue
      }
      this.heads.pop()
      if (p.lagging && !p.paused && heldBack()) break
    }
    this.bufferedRecords -= records.length
    this.bufferedBytes -= bytes
    const partitions: Array<PartitionRead> = []
    for (const [p, count] of read) {
      partitions.push({
        topic: p.topic,
        partition: p.partition,
        nextOffset: p.size > 0 ? p.head.offset : p.fetched,
        highWatermark: p.highWatermark,
        records: count
      })
    }
    return { records, partitions }
  }

  /**
   * Which partitions to pause and which to resume, if that changed. The frontier is the
   * earliest last-fetched timestamp among partitions known to hold unread records: what
   * is unread anywhere is (records being roughly in time order per partition) no earlier
   * than it. A partition fetched more than `maxLeadMs` past the frontier is paused; it
   * is resumed once the frontier comes within half that (so it is not paused and resumed
   * batch after batch), or once it holds nothing unread. The slowest partition is never
   * paused, so reading always goes on, and a paused partition never holds a cut back
   * (its unread records come after every other partition's). Partitions never fetched
   * yet do not count: their timestamps are not known.
   */
  flow(): FlowChange | undefined {
    if (!this.flowStale) return undefined
    this.flowStale = false
    const lead = this.settings.maxLeadMs ?? DEFAULT_MAX_LEAD_MS
    let frontier = Infinity
    for (const p of this.partitions.values()) {
      if (p.lagging && p.lastTimestamp !== undefined && p.lastTimestamp < frontier) frontier = p.lastTimestamp
    }
    const pause: Array<TopicPartition> = []
    const resume: Array<TopicPartition> = []
    for (const p of this.partitions.values()) {
      if (p.lastTimestamp === undefined) continue
      const paused = p.paused
        ? p.lagging && p.lastTimestamp > frontier + lead / 2
        : p.lagging && p.lastTimestamp > frontier + lead
      if (paused === p.paused && !p.unsure) continue
      p.paused = paused
      p.unsure = false
      ;(paused ? pause : resume).push({ topic: p.topic, partition: p.partition })
    }
    return pause.length === 0 && resume.length === 0 ? undefined : { pause, resume }
  }

  private partition(topic: string, partition: number, fetched: number): PartitionBuffer {
    const key = `${topic}\u0000${partition}`
    let p = this.partitions.get(key)
    if (p === undefined) {
      p = new PartitionBuffer(topic, partition, this.known++, fetched)
      this.partitions.set(key, p)
    }
    return p
  }
}
