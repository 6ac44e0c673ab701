/**
 * Drives one task instance in memory as the kernel's TaskHarness does (clock, records, batch
 * ends, punctuation), but keeps none of its changelog: the bench only counts it, and the
 * harness's copy (`push(...changelog)`) overflows the stack when a batch releases a large
 * job's state (200,000 reviews and more).
 */
import type { ConsumedRecord } from "../src/kernel/kafka/KafkaPort.ts"
import type { TaskDefinition } from "../src/kernel/runtime/Task.ts"
import { type EventOutput, TaskInstance } from "../src/kernel/runtime/TaskInstance.ts"

export class TaskDriver<E> {
  private readonly task: TaskInstance<E>
  private nextOffset = 0
  private now = 0

  constructor(definition: TaskDefinition<E>, settings: { readonly applicationId: string; readonly dlqTopic: string }) {
    this.task = new TaskInstance(definition, 0, settings)
  }

  /** Sets the task's clock; the task is always caught up here, so time is active. */
  at(now: number): this {
    if (now > this.now) this.task.advanceActive(now - this.now)
    this.now = now
    this.task.setTime(now)
    return this
  }

  process(topic: string, value: Uint8Array): this {
    const record: ConsumedRecord = { topic, partition: 0, offset: this.nextOffset++, timestamp: this.now, key: null, value, headers: {} }
    this.task.process(record)
    return this
  }

  endBatch(): EventOutput<E> {
    this.task.run(this.task.handlers.endBatch)
    return this.task.drain()
  }

  punctuate(): EventOutput<E> {
    this.task.run(this.task.handlers.punctuate)
    return this.task.drain()
  }
}
