/**
 * The kernel's public entry: everything a pipeline needs to be built, run and tested on
 * Kafka, and nothing about any particular domain. Pipelines import from here only.
 */
export * as Kafka from "./kafka/KafkaPort.ts"
export * as EmbeddedKafka from "./kafka/EmbeddedKafka.ts"
export * as KafkaJs from "./kafka/KafkaJs.ts"
export * as Source from "./source/Source.ts"
export * as DeadLetter from "./source/DeadLetter.ts"
export * as Sink from "./output/Sink.ts"
export * as Monoids from "./monoid/Monoids.ts"
export * as StoreKey from "./store/StoreKey.ts"
export * as StoreSpec from "./store/StoreSpec.ts"
export { KeyValueStore } from "./store/KeyValueStore.ts"
export { DedupeStore } from "./store/DedupeStore.ts"
export * as SessionJoin from "./join/SessionJoin.ts"
export * as OrderedStages from "./lifecycle/OrderedStages.ts"
export * as Task from "./runtime/Task.ts"
export * as Inputs from "./runtime/Inputs.ts"
export * as Runtime from "./runtime/Runtime.ts"
export * as InputEvent from "./runtime/InputEvent.ts"
export * as Topology from "./topology/Aggregate.ts"
export { TaskHarness } from "./testing/TaskHarness.ts"
export { runUntilIdle } from "./testing/RunUntilIdle.ts"
