/**
 * Runs a task on the embedded broker until it has handled and committed everything in
 * its input topics, then stops it (as a shutdown would). Run it again on the same
 * broker and the task restarts from its changelog and committed offsets. Works under
 * TestClock: it waits by yielding, never by sleeping.
 */
import { Effect, Fiber } from "effect"
import { EmbeddedBroker } from "../kafka/EmbeddedKafka.ts"
import type { KafkaClient, KafkaError } from "../kafka/KafkaPort.ts"
import * as Runtime from "../runtime/Runtime.ts"

/** Whether `groupId` has committed every record of `topics`. */
export const consumedAll = (broker: EmbeddedBroker["Service"], groupId: string, topics: ReadonlyArray<string>): boolean => {
  const committed = broker.committed(groupId)
  return topics.every((topic) =>
    broker.endOffsets(topic).every((end, partition) =>
      end === 0 || committed.some((c) => c.topic === topic && c.partition === partition && c.offset >= end)))
}

export const runUntilIdle = <E>(options: Runtime.RuntimeOptions<E>, maxYields = 100_000): Effect.Effect<void, KafkaError | Error, KafkaClient | EmbeddedBroker> =>
  Effect.scoped(Effect.gen(function*() {
    const broker = yield* EmbeddedBroker
    const fiber = yield* Effect.forkScoped(Runtime.run(options))
    for (let i = 0; i < maxYields; i++) {
      yield* Effect.yieldNow
      if (i > 20 && consumedAll(broker, options.applicationId, options.task.topics)) return yield* Fiber.interrupt(fiber)
    }
    return yield* Effect.fail(new Error(`task ${options.task.name} did not consume its input within ${maxYields} yields`))
  }))
