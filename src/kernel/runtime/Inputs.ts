/**
 * Routing by topic: each input topic of a task has a typed source and a handler for
 * its decoded elements. Elements that do not decode are dead-lettered with their reason
 * unless the input wants to see them first (e.g. to count them against their entity).
 */
import type { ConsumedRecord } from "../kafka/KafkaPort.ts"
import { decode, type Element, type Rejected, type Source } from "../source/Source.ts"
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

/** One `process` for a task reading several topics. */
export const route = <E>(inputs: ReadonlyArray<Input<any, E>>) => {
  const byTopic = new Map(inputs.map((i) => [i.source.topic, i] as const))
  return (record: ConsumedRecord, ctx: TaskContext<E>): void => {
    const input = byTopic.get(record.topic)
    if (input === undefined) throw new Error(`no input handles topic ${record.topic}`)
    if (input.skip?.(record) === true) return
    const rejected = input.rejected ?? deadLetterRejected
    for (const decoded of decode(input.source, record)) {
      if (decoded._tag === "Success") input.element(decoded.success, record, ctx)
      else rejected(decoded.failure, record, ctx)
    }
  }
}
