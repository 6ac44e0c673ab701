/**
 * `npm run topics`: every topic the service reads or writes under the current settings
 * (environment, validated as at start-up), one per line: `NAME PARTITIONS key=value ...`,
 * `-` where the count is not the service's to choose (docs/operations.md, "Topics").
 */
import { Effect, Layer } from "effect"
import { reviewTopics } from "../app/TopicSetup.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { KafkaConfig } from "../config/KafkaConfig.ts"
import { topicLine } from "../kernel/kafka/TopicSetup.ts"
import { runCli } from "./CliMain.ts"

const program = Effect.gen(function*() {
  const lines = reviewTopics(yield* AppConfig, yield* KafkaConfig).map(topicLine)
  yield* Effect.sync(() => process.stdout.write(`${lines.join("\n")}\n`))
})

runCli(program.pipe(Effect.provide(Layer.merge(AppConfig.layer, KafkaConfig.layer))))
