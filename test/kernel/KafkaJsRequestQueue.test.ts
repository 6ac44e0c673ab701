/**
 * The fix to kafkajs's request queue (src/kernel/kafka/KafkaJsRequestQueue.ts): after a
 * response, a queue with nothing pending and no throttle schedules no check (kafkajs as
 * released schedules one at a negative delay, a 1 ms timer that re-arms itself for as long
 * as the connection lives); a pending request or a throttle still gets its check.
 */
import { afterEach, describe, expect, it } from "vitest"
import { applyRequestQueueFix, requestQueueClass } from "../../src/kernel/kafka/KafkaJsRequestQueue.ts"

interface Queue {
  pending: Array<unknown>
  throttledUntil: number
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null
  checkPendingRequests(): void
  scheduleCheckPendingRequests(): void
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const queues: Array<Queue> = []
const newQueue = (): Queue => {
  const RequestQueue = requestQueueClass() as unknown as new (options: object) => Queue
  const queue = new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: "test", broker: "b:9092", logger: quiet })
  queues.push(queue)
  return queue
}

afterEach(() => {
  for (const q of queues.splice(0)) if (q.throttleCheckTimeoutId !== null) clearTimeout(q.throttleCheckTimeoutId)
})

describe("kafkajs's request queue, fixed", () => {
  it("is patched once, whatever number of clients asks", () => {
    expect(applyRequestQueueFix(), "kafkajs's request queue has the shape the fix knows").toBe(true)
    const patched = requestQueueClass().prototype["scheduleCheckPendingRequests"]
    expect(applyRequestQueueFix()).toBe(true)
    expect(requestQueueClass().prototype["scheduleCheckPendingRequests"], "not wrapped twice").toBe(patched)
  })

  it("schedules no check after a response when nothing is pending or throttled", () => {
    applyRequestQueueFix()
    const queue = newQueue()
    queue.checkPendingRequests()
    expect(queue.throttleCheckTimeoutId, "no timer: kafkajs as released sets one of -Date.now() ms").toBeNull()
  })

  it("still schedules the check of a pending request, and of a throttle to wait out", () => {
    applyRequestQueueFix()
    const waiting = newQueue()
    waiting.pending.push({ correlationId: 1 })
    waiting.scheduleCheckPendingRequests()
    expect(waiting.throttleCheckTimeoutId).not.toBeNull()
    const throttled = newQueue()
    throttled.throttledUntil = Date.now() + 5_000
    throttled.scheduleCheckPendingRequests()
    expect(throttled.throttleCheckTimeoutId).not.toBeNull()
  })
})
