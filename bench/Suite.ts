/**
 * `npm run bench`: the benchmark suite. Runs each chosen case on each chosen path in a
 * fresh process and prints a block per run and a summary table, or one JSON document.
 *
 *   npm run bench -- [reviews] [--path inprocess|wire|all] [--case ...] [--reviews N] [--repeat N] [--mode ...] [--json]
 */
import { spawnSync } from "node:child_process"
import { cpus } from "node:os"
import { mockClusterAvailable } from "../test/support/MockKafkaCluster.ts"
import { BadArgument, type BenchArgs, parseArgs, USAGE } from "./BenchArgs.ts"
import { caseSize } from "./BenchCase.ts"
import { runChild } from "./ChildRun.ts"
import { mediansOf } from "./Medians.ts"
import { runBlock, summaryTable } from "./ResultTable.ts"
import type { RunResult } from "./RunResult.ts"
import { coPartitionedMisfit } from "./WireCluster.ts"

const stop = (message: string): never => {
  console.error(message)
  return process.exit(1)
}

const args: BenchArgs = (() => {
  try {
    return parseArgs(process.argv.slice(2))
  } catch (error) {
    if (error instanceof BadArgument) return stop(`error: ${error.message}\n${USAGE}`)
    throw error
  }
})()

if (args.paths.includes("wire") && args.mode === "co-partitioned") {
  const misfits = args.cases.map((name) => coPartitionedMisfit(caseSize("wire", name, args.reviews))).filter((m) => m !== undefined)
  if (misfits.length > 0) stop(`error: --mode co-partitioned on the wire: ${misfits.join("; ")}\n${USAGE}`)
}

if (args.paths.includes("wire")) {
  const toolchain = mockClusterAvailable()
  if (!toolchain.ok) stop(`error: --path wire needs the mock Kafka cluster: ${toolchain.reason}`)
  const kcat = spawnSync("kcat", ["-V"], { encoding: "utf8" })
  if (kcat.error !== undefined || kcat.status !== 0) stop("error: --path wire needs kcat; install with: apt-get install -y kcat")
}

const runs: Array<RunResult> = []
for (const path of args.paths) {
  for (const name of args.cases) {
    const size = caseSize(path, name, args.reviews)
    for (let i = 1; i <= args.repeat; i++) {
      console.error(`bench: ${path}${path === "wire" ? ` (${args.mode})` : ""} / ${name}, ${size.reviews.toLocaleString("en")} reviews${args.repeat > 1 ? ` (run ${i} of ${args.repeat})` : ""}`)
      const run = await runChild(path, name, size.reviews, args.mode).catch((error: unknown) => stop(`error: ${error instanceof Error ? error.message : String(error)}`))
      runs.push(run)
      // With --json the blocks go to stderr, so a long suite cut short still shows what it measured.
      if (args.json) console.error(`${runBlock(run)}\n`)
      else console.log(`${runBlock(run)}\n`)
    }
  }
}

const medians = mediansOf(runs)
if (args.json) {
  const cpu = cpus()
  console.log(JSON.stringify({
    suite: "review-aggregator bench",
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? "unknown",
    finishedAt: new Date().toISOString(),
    command: ["npm run bench --", ...process.argv.slice(2)].join(" "),
    args: { paths: args.paths, cases: args.cases, reviews: args.reviews ?? null, repeat: args.repeat, mode: args.mode },
    runs,
    medians
  }, null, 2))
} else {
  console.log(`${args.repeat > 1 ? `median of ${args.repeat} runs each` : "summary"} (node ${process.version}, ${cpus().length} CPUs)`)
  console.log(summaryTable(medians))
}
const unfinished = runs.filter((r) => Object.entries(r.outcome.statuses).some(([status, n]) => status !== "aggregation/done" || n !== r.outcome.jobs))
if (unfinished.length > 0) stop(`error: jobs did not all end aggregation/done in: ${unfinished.map((r) => `${r.path}/${r.case}`).join(", ")}`)
