/**
 * The fetch bounds (KAFKA_FETCH_MAX_BYTES, KAFKA_FETCH_MAX_BYTES_PER_PARTITION) bound what
 * the service reads ahead of its pipeline: a value reaches the kafkajs consumer as given,
 * and anything but a positive whole number of bytes stops start-up naming the variable.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { envOverrides } from "../support/EnvOverrides.ts"
import { startUpOutcome } from "../support/StartUpOutcome.ts"
import { KafkaConfig, type KafkaSettings } from "../../src/config/KafkaConfig.ts"
import { consumerConfig } from "../../src/kernel/kafka/KafkaJsConsumer.ts"

const NAMES = ["KAFKA_FETCH_MAX_BYTES", "KAFKA_FETCH_MAX_BYTES_PER_PARTITION"] as const

const setEnv = envOverrides()

/** The settings as start-up reads them from process.env, or the failure's text. */
const readSettings = (): Promise<KafkaSettings | string> =>
  startUpOutcome(Effect.gen(function*() {
    return yield* KafkaConfig
  }).pipe(Effect.provide(KafkaConfig.layer)))

describe("fetch bounds", () => {
  it("default to 10 MiB per fetch and 1 MiB per partition", async () => {
    for (const name of NAMES) setEnv({ [name]: "unset" })
    for (const name of NAMES) delete process.env[name]
    const settings = await readSettings()
    if (typeof settings === "string") throw new Error(settings)
    const consumer = consumerConfig(settings, "g")
    expect([consumer.maxBytes, consumer.maxBytesPerPartition]).toEqual([10 * 1024 * 1024, 1024 * 1024])
  })

  it("reach the kafkajs consumer as given", async () => {
    setEnv({ KAFKA_FETCH_MAX_BYTES: "2097152", KAFKA_FETCH_MAX_BYTES_PER_PARTITION: "65536" })
    const settings = await readSettings()
    if (typeof settings === "string") throw new Error(settings)
    const consumer = consumerConfig(settings, "g")
    expect([consumer.maxBytes, consumer.maxBytesPerPartition]).toEqual([2_097_152, 65_536])
  })

  for (const name of NAMES) {
    it.each(["0", "-1", "1.5", "ten"])(`${name}=%s stops start-up naming the variable`, async (value) => {
      setEnv({ [name]: value })
      const failure = await readSettings()
      expect(typeof failure, `${name}=${value} was accepted`).toBe("string")
      expect(failure).toContain(name)
    })
  }
})
