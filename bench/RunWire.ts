/**
 * One wire run of one case, in a process of its own: a mock cluster with the inputs
 * produced, the bare kafkajs floor, then the service process over the same messages, then
 * its changelog counted; prints the RunResult as JSON.
 *
 *   node --import tsx bench/RunWire.ts <case> <reviews> [single-active|co-partitioned]
 */
import { buildCompiledService } from "../test/support/CompiledService.ts"
import { CASES, type CaseName, MODES, type ModeName } from "./BenchArgs.ts"
import { caseSize } from "./BenchCase.ts"
import { kafkaJsFloor } from "./KafkaJsFloor.ts"
import { changelogFigures, type RunResult } from "./RunResult.ts"
import { serviceRun } from "./ServiceRun.ts"
import { countChangelog, produceInputs, startWireCluster } from "./WireCluster.ts"

const [name, reviews, mode = "single-active"] = process.argv.slice(2)
if (
  !(CASES as ReadonlyArray<string>).includes(name ?? "") || !Number.isSafeInteger(Number(reviews)) || Number(reviews) <= 0 ||
  !(MODES as ReadonlyArray<string>).includes(mode)
) {
  console.error(`usage: node --import tsx bench/RunWire.ts <${CASES.join("|")}> <reviews> [${MODES.join("|")}]`)
  process.exit(1)
}
const size = caseSize("wire", name as CaseName, Number(reviews))
/** Generous: a tenth of the slowest figure (8k records/s), plus the group joins. */
const timeoutMs = 120_000 + (2 * size.reviews) / 0.8

// Stopped by a signal, exit normally so the exit hooks stop the service and the mock cluster.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130))

// The service as it ships, compiled from the current sources once for this run, before
// anything else so that a build that fails stops the run at once.
const compiled = buildCompiledService()
process.once("exit", compiled.remove)

const wire = await startWireCluster(size, mode as ModeName)
try {
  const input = await produceInputs(wire, size)
  const floor = await kafkaJsFloor(wire, input, timeoutMs)
  const run = await serviceRun(compiled, wire, size, input, timeoutMs)
  const changelog = await countChangelog(wire)
  const result: RunResult = {
    path: "wire",
    mode: wire.mode,
    case: size.case,
    size,
    input: { ...input, partitions: wire.partitions },
    ...run,
    floor,
    ratio: floor.recordsPerSecond > 0 ? run.service.recordsPerSecond / floor.recordsPerSecond : 0,
    changelog: {
      ...changelogFigures(changelog.topics, changelog.records, changelog.bytes, size, input, changelog.extrapolated),
      partitions: changelog.partitions,
      shareByStore: changelog.shareByStore
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
} finally {
  await wire.stop()
}
