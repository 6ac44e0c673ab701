/**
 * Routing by topic: each input topic of a task has a typed source and a handler for
 * its decoded elements. Elements that do not decode are dead-lettered with their reason
 * unless the input wants to see them first (e.g. to count them against their entity).
 */
import type { ConsumedRecord } from "../kafka/KafkaPort.ts"
import { decodeEach, type DecodeHandlers, type Element, type Rejected, type Source } from "../source/Source.ts"
import type { TaskContext } from "./Task.ts"

export interface Input<A, E> {
  readonly source: Source<A>
  /** Records to skip without decoding (e.g. this application's own messages on a shared topic). */
  readonly skip?: ((record: ConsumedRecord) => boolean) | undefined
  readonly element: (element: Element<A>, record: ConsumedRecord, ctx: TaskContext<E>) => void
  /** Sees a rejected element; it must dead-letter it (default: dead-lettered as is). */
  readonly rejected?: ((rejected: Rejected, record: ConsumedRecord, ctx: TaskContext<E>) => void) | undefined
}

export const input = <A, E>(i: Input<A, E>): Input<A, E> => i

const deadLetterRejected = <E>(r: Rejected, _record: ConsumedRecord, ctx: TaskContext<E>) => ctx.deadLetter(r.source, r.reason)

/** An input's decode handlers, pointed at the record being handled (one object per input, not per record). */
class Dispatch<A, E> implements DecodeHandlers<A> {
  record: ConsumedRecord | undefined
  ctx: TaskContext<E> | undefined
  private readonly onRejected: NonNullable<Input<A, E>["rejected"]>

  constructor(readonly input: Input<A, E>) {
    this.onRejected = input.rejected ?? deadLetterRejected
  }

  readonly element = (element: Element<A>): void => this.input.element(element, this.record!, this.ctx!)
  readonly rejected = (rejected: Rejected): void => this.onRejected(rejected, this.record!, this.ctx!)
}

/** One `process` for a task reading several topics. */
export const route = <E>(inputs: ReadonlyArray<Input<any, E>>) => {
  const byTopic = new Map(inputs.map((i) => [i.source.topic, new Dispatch<any, E>(i)] as const))
  return (record: ConsumedRecord, ctx: TaskContext<E>): void => {
    const dispatch = byTopic.get(record.topic)
    if (dispatch === undefined) throw new Error(`no input handles topic ${record.topic}`)
    if (dispatch.input.skip?.(record) === true) return
    dispatch.record = record
    dispatch.ctx = ctx
    try {
      decodeEach(dispatch.input.source, record, dispatch)
    } finally {
      dispatch.record = undefined
      dispatch.ctx = undefined
    }
  }
}
