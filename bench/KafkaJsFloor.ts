/**
 * The wire floor: a bare kafkajs consumer (its defaults, the mock's quick group settings)
 * counting the case's input messages, timed from its first batch to the last message, in
 * the same cluster and run as the service. It runs kafkajs with the service's fix to its
 * request queue (src/kernel/kafka/KafkaJsRequestQueue.ts), so that the ratio compares the
 * service with the same client, not with one that also spins a 1 ms timer per connection.
 */
import { applyRequestQueueFix } from "../src/kernel/kafka/KafkaJsRequestQueue.ts"
import { MOCK_CONSUMER_SETTINGS } from "../test/support/MockKafkaCluster.ts"
import { within } from "../test/support/ServiceProcess.ts"
import type { InputTally } from "./BenchCase.ts"
import { reviewMessages, type RunResult, throughput } from "./RunResult.ts"
import { TOPICS, type WireCluster } from "./WireCluster.ts"

export const kafkaJsFloor = async (wire: WireCluster, input: InputTally, timeoutMs: number): Promise<RunResult["floor"]> => {
  if (!applyRequestQueueFix()) throw new Error("kafkajs's request queue is not the one the service's fix knows (src/kernel/kafka/KafkaJsRequestQueue.ts)")
  const consumer = wire.kafka.consumer({ groupId: "bench-floor", ...MOCK_CONSUMER_SETTINGS })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [TOPICS.transform, TOPICS.analysis, TOPICS.control], fromBeginning: true })
    let messages = 0
    let started: { readonly wall: number; readonly cpu: NodeJS.CpuUsage } | undefined
    const counted = new Promise<{ readonly seconds: number; readonly cpuMicros: number }>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          started ??= { wall: performance.now(), cpu: process.cpuUsage() }
          if (batch.topic !== TOPICS.control) messages += batch.messages.length
          if (messages === reviewMessages(input)) {
            const cpu = process.cpuUsage(started.cpu)
            resolve({ seconds: (performance.now() - started.wall) / 1000, cpuMicros: cpu.user + cpu.system })
          }
        }
      })
    })
    const { seconds, cpuMicros } = await within(timeoutMs, `the bare kafkajs consumer reading ${reviewMessages(input)} messages (read ${messages})`, counted)
    return { what: "bare kafkajs consumer counting messages", messagesRead: messages, recordsCounted: 0, ...throughput(input.records, seconds, cpuMicros) }
  } finally {
    await consumer.disconnect()
  }
}
