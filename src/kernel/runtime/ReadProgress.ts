/**
 * How far the task has read, for decisions taken from the absence of records (a window
 * closing, a deadline passing). Every tick sets a barrier: the high watermarks known at
 * that moment. Once every partition has been read up to a barrier, everything that
 * stood in Kafka at that tick has been handled, so a decision that fell due then may be
 * taken. `decisionTime` is the time of the latest barrier passed: behind, restoring or
 * cut off from the broker, it stands still, and such decisions wait.
 */
import type { PartitionProgress } from "../kafka/KafkaPort.ts"
import type { PartitionRead } from "./InputEvent.ts"

interface Barrier {
  readonly time: number
  readonly watermarks: ReadonlyMap<string, number>
}

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`

export class ReadProgress {
  /** Next offset to read and last known high watermark, per topic-partition. */
  private readonly position = new Map<string, number>()
  private readonly watermark = new Map<string, number>()
  private readonly barriers: Array<Barrier> = []
  /** Nothing is known to have been read before the first barrier is passed. */
  private passed = Number.NEGATIVE_INFINITY
  /** The last tick at which everything was read, while that lasts without a break. */
  private caughtUpSince: number | undefined

  /**
   * `partitions`: how many partitions feed the task, when known (a scaled-out task: one
   * per input topic). Until the watermark of each is known, no barrier is set, so a task
   * that has just been assigned decides nothing before it knows what its partitions hold.
   */
  constructor(private readonly partitions?: number | undefined) {}


  /** Records what a handled event tells of one partition: where reading continues and what the partition held. */
  handled(read: PartitionRead): void {
    const key = partitionKey(read.topic, read.partition)
    this.position.set(key, read.nextOffset)
    if (read.highWatermark !== undefined) this.watermark.set(key, Math.max(read.highWatermark, this.watermark.get(key) ?? 0))
  }

  /**
   * What the broker says of every partition, not only those a batch came from. A
   * partition's committed offset stands for its position until a batch of it is handled
   * (a fetched batch may still wait unhandled, so fetch positions are never used).
   */
  observed(partitions: ReadonlyArray<PartitionProgress>): void {
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition)
      if (p.highWatermark > (this.watermark.get(key) ?? 0)) this.watermark.set(key, p.highWatermark)
      if (p.committed !== undefined && p.committed > (this.position.get(key) ?? 0)) this.position.set(key, p.committed)
    }
  }

  /**
   * A tick at `now`: sets a barrier at the known watermarks and passes every barrier
   * already reached. Returns the decision time and how much *active time* passed: the
   * time since the previous tick if everything was read at both ticks, else nothing, so
   * time spent behind, restoring or cut off from the broker does not count.
   */
  tick(now: number): { readonly decisionTime: number; readonly activeMs: number } {
    if (this.knowsAll) {
      this.barriers.push({ time: now, watermarks: new Map(this.watermark) })
    }
    while (this.barriers.length > 0 && this.reached(this.barriers[0]!)) this.passed = this.barriers.shift()!.time
    const caughtUp = this.passed === now
    const activeMs = caughtUp && this.caughtUpSince !== undefined ? Math.max(0, now - this.caughtUpSince) : 0
    this.caughtUpSince = caughtUp ? now : undefined
    return { decisionTime: this.passed, activeMs }
  }

  /** Active time since the last tick, if it was caught up: what a batch handled now may count before the next tick settles it. */
  pendingActive(now: number): number {
    return this.caughtUpSince === undefined ? 0 : Math.max(0, now - this.caughtUpSince)
  }

  /** The broker could not be asked: until the next good tick, no time counts as active. */
  unreachable(): void {
    this.caughtUpSince = undefined
  }

  /** The latest time at which everything then in the task's partitions had been read. */
  get decisionTime(): number {
    return this.passed
  }

  /** Whether every partition is read up to its last known high watermark. */
  get caughtUp(): boolean {
    return this.knowsAll && this.readUpTo(this.watermark)
  }

  private get knowsAll(): boolean {
    return this.partitions === undefined || this.watermark.size >= this.partitions
  }

  private reached(barrier: Barrier): boolean {
    return this.readUpTo(barrier.watermarks)
  }

  private readUpTo(watermarks: ReadonlyMap<string, number>): boolean {
    for (const [key, hw] of watermarks) if ((this.position.get(key) ?? 0) < hw) return false
    return true
  }
}
