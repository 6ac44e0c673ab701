/** The Kafka port contract on the embedded in-memory broker. */
import { layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as EmbeddedKafka from "../../src/kernel/kafka/EmbeddedKafka.ts"
import { KafkaClient } from "../../src/kernel/kafka/KafkaPort.ts"
import { contractTopics, kafkaPortContract } from "./KafkaPortContract.ts"

const topics = contractTopics("contract-")

// Small batches, so batch boundaries fall inside partitions as they do on a real broker.
const Embedded = Layer.effectDiscard(Effect.gen(function*() {
  const kafka = yield* KafkaClient
  yield* kafka.createTopics(Object.values(topics).map((t) => ({ topic: t.name, partitions: t.partitions, replicationFactor: 1 })))
})).pipe(Layer.provideMerge(EmbeddedKafka.layer({ defaultPartitions: 1, maxBatchSize: 7 })))

layer(Embedded, { excludeTestServices: true })("Kafka port contract: EmbeddedKafka", (it) => {
  kafkaPortContract(it, { topics, prefix: "contract-", missing: {}, waitMs: 5_000 })
})
