/**
 * A live task: its store shards, its handlers, and the buffers of the event being
 * handled. It gives each record all-or-nothing semantics (store undo logs plus
 * per-record output buffers) and turns a finished event into what to write:
 * outputs, then one changelog record per changed key.
 */
import type { ConsumedRecord, Headers, OutgoingRecord } from "../kafka/KafkaPort.ts"
import { deadLetter, sourceRefOf, type DeadLetterReason, type SourceRef } from "../source/DeadLetter.ts"
import { KeyValueStore } from "../store/KeyValueStore.ts"
import { changelogTopic, type StoreSpec } from "../store/StoreSpec.ts"
import { frameHeaders } from "./ChangelogFrame.ts"
import { activeClockSpec, storesOf, type TaskContext, type TaskDefinition, type TaskHandlers, type TaskStores } from "./Task.ts"

export interface EventOutput<E> {
  readonly records: ReadonlyArray<OutgoingRecord>
  readonly changelog: ReadonlyArray<OutgoingRecord>
  readonly events: ReadonlyArray<E>
}

/** How a store's changelog is addressed: topic, key prefix when the topic is shared. */
interface LoggedStore {
  readonly store: KeyValueStore<any, any>
  readonly topic: string
  readonly prefix: string
}

/** Marks the record an event of tombstones only writes so that it has a value (not state). */
export const EVENT_MARKER_HEADER = "changelog.event.marker"
/** The marker's key: one per changelog partition, each marker superseding the previous. */
export const EVENT_MARKER_KEY = "\u0000changelog.event"
/** Whether a changelog record is an event's marker rather than state. */
export const isEventMarker = (record: { readonly headers?: Headers | undefined }): boolean =>
  record.headers?.[EVENT_MARKER_HEADER] !== undefined

export const describeFailure = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

export class TaskInstance<E> {
  readonly stores: ReadonlyArray<KeyValueStore<any, any>>
  private readonly bySpec = new Map<StoreSpec<any, any>, KeyValueStore<any, any>>()
  private readonly logged: ReadonlyArray<LoggedStore>
  readonly handlers: TaskHandlers<E>
  private records: Array<OutgoingRecord> = []
  private events: Array<E> = []
  private readonly recordOut: Array<OutgoingRecord> = []
  private readonly recordEvents: Array<E> = []
  private now = 0
  private decisionTime = 0
  private activeTime = 0
  /** Active time since the last tick, counted provisionally for this event. */
  private pendingActive = 0
  /** The store of the task's active time, if it keeps one, and the last value written to it. */
  private readonly clock: KeyValueStore<string, number> | undefined
  private readonly context: TaskContext<E>
  /** `perPartition` tasks write partition = task id; a single task lets the key choose. */
  private readonly changelogPartition: number | undefined

  constructor(
    definition: TaskDefinition<E>,
    readonly taskId: number,
    private readonly settings: { readonly applicationId: string; readonly dlqTopic: string }
  ) {
    const stores = storesOf(definition).map((spec) => {
      const store = new KeyValueStore(spec)
      this.bySpec.set(spec, store)
      return store
    })
    this.stores = stores
    const topicUsers = new Map<string, number>()
    for (const spec of storesOf(definition)) {
      if (spec.logged === false) continue
      const topic = changelogTopic(settings.applicationId, spec)
      topicUsers.set(topic, (topicUsers.get(topic) ?? 0) + 1)
    }
    this.logged = stores.filter((s) => s.spec.logged !== false).map((store) => {
      const topic = changelogTopic(settings.applicationId, store.spec)
      return { store, topic, prefix: topicUsers.get(topic)! > 1 ? `${store.spec.name}|` : "" }
    })
    const access: TaskStores = {
      get: <K, V>(spec: StoreSpec<K, V>) => {
        const store = this.bySpec.get(spec)
        if (store === undefined) throw new Error(`store "${spec.name}" is not declared by task "${definition.name}"`)
        return store as KeyValueStore<K, V>
      }
    }
    this.changelogPartition = definition.partitioning === "perPartition" ? taskId : undefined
    const self = this
    this.context = {
      taskId,
      get now() {
        return self.now
      },
      get decisionTime() {
        return self.decisionTime
      },
      get activeTime() {
        return self.clock === undefined ? self.decisionTime : self.activeTime + self.pendingActive
      },
      publish: (sink, value, headers) => void this.recordOut.push(sink.record(value, headers)),
      emit: (record) => void this.recordOut.push(record),
      deadLetter: (source, reason, context) => void this.recordOut.push(this.deadLetterRecord(source, reason, context)),
      event: (event) => void this.recordEvents.push(event)
    }
    const clockSpec = activeClockSpec(definition)
    this.clock = clockSpec === undefined ? undefined : this.bySpec.get(clockSpec)
    this.handlers = definition.make(access, taskId)
  }

  /** The changelog topics this task's stores write, with the key prefix of each store. */
  get changelogs(): ReadonlyArray<LoggedStore> {
    return this.logged
  }

  /** The task's active clock, as last advanced. */
  get currentActiveTime(): number {
    return this.activeTime
  }

  /** Active time as restored from the changelog (call after restore). */
  restoredClock(): void {
    this.activeTime = this.clock?.get("active") ?? 0
  }

  /**
   * Adds active time, persisted with the event (one changelog record per tick that
   * advanced it: at most one a second with default settings), so a restart continues
   * the clock where it stood and time spent down never counts.
   */
  advanceActive(ms: number): void {
    if (this.clock === undefined || ms <= 0) return
    this.activeTime += ms
    this.clock.put("active", this.activeTime)
  }

  /** Sets the clock for the next event; `decisionTime` defaults to `now` (nothing unread). */
  setTime(now: number, decisionTime = now, pendingActive = 0): void {
    this.now = now
    this.decisionTime = decisionTime
    this.pendingActive = pendingActive
    for (const store of this.stores) store.now = now
  }

  /** Handles one record all-or-nothing; a handler that throws leaves a `processing` dead letter instead. */
  process(record: ConsumedRecord): void {
    this.atomically(
      (ctx) => this.handlers.process(record, ctx),
      (cause) => [this.deadLetterRecord(sourceRefOf(record), {
        type: "processing",
        message: `unexpected failure while handling the record: ${describeFailure(cause)}`
      })]
    )
  }

  /**
   * Batch end and punctuation are all-or-nothing too, but there is no record to
   * dead-letter: a failure there is a bug that stops the runtime (and the task restarts
   * from its changelog), never half-applied state.
   */
  run(work: ((ctx: TaskContext<E>) => void) | undefined): void {
    if (work === undefined) return
    this.atomically(work, (cause) => {
      throw cause
    })
  }

  /** Sequence number of the task's last event that wrote changelog records (continued after restore). */
  lastEvent = 0

  /**
   * What the event produced: outputs, then the changelog of every store changed since the
   * last flush. The changelog records of one event are framed (event number and record
   * counts, see ChangelogFrame), so a restore can tell an event whose write was cut short. Its
   * tombstones come first (the processor writes them before its values), and an event of
   * tombstones only gets one marker value, so every event leaves a value compaction keeps.
   */
  drain(): EventOutput<E> {
    const tombstones: Array<{ readonly topic: string; readonly key: string; readonly value: string | null }> = []
    const values: Array<{ readonly topic: string; readonly key: string; readonly value: string | null }> = []
    for (const { store, topic, prefix } of this.logged) {
      for (const entry of store.flush()) (entry.value === null ? tombstones : values).push({ topic, key: prefix + entry.key, value: entry.value })
    }
    const changelog: Array<OutgoingRecord> = []
    if (tombstones.length + values.length > 0) {
      const event = ++this.lastEvent
      const marker = values.length === 0 ? 1 : 0
      const headers = frameHeaders(event, tombstones.length + values.length + marker, values.length + marker)
      for (const e of [...tombstones, ...values]) changelog.push({ ...e, partition: this.changelogPartition, headers })
      if (marker === 1) {
        changelog.push({
          topic: this.logged[0]!.topic,
          key: EVENT_MARKER_KEY,
          value: String(event),
          partition: this.changelogPartition,
          headers: { ...headers, [EVENT_MARKER_HEADER]: "1" }
        })
      }
    }
    for (const store of this.stores) if (store.spec.logged === false) store.flush()
    const out = { records: this.records, changelog, events: this.events }
    this.records = []
    this.events = []
    return out
  }

  private atomically(work: (ctx: TaskContext<E>) => void, onFailure: (cause: unknown) => ReadonlyArray<OutgoingRecord>): void {
    const stores = this.stores
    for (let i = 0; i < stores.length; i++) stores[i]!.begin()
    // The per-record buffers are reused: emptied here, whatever the last record left.
    this.recordOut.length = 0
    this.recordEvents.length = 0
    try {
      work(this.context)
    } catch (cause) {
      for (let i = 0; i < stores.length; i++) stores[i]!.rollback()
      this.recordOut.length = 0
      this.recordEvents.length = 0
      for (const r of onFailure(cause)) this.records.push(r)
      return
    }
    for (let i = 0; i < stores.length; i++) stores[i]!.commit()
    for (const r of this.recordOut) this.records.push(r)
    for (const e of this.recordEvents) this.events.push(e)
  }

  private deadLetterRecord(source: SourceRef, reason: DeadLetterReason, context?: Headers): OutgoingRecord {
    return deadLetter(this.settings.dlqTopic, source, reason, context)
  }
}
