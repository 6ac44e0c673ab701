/**
 * What the service costs while it waits for input: the compiled service, started as the
 * image starts it, on the mock cluster with the bench's topics and nothing to read, its
 * CPU time (`/proc/<pid>/stat`) over a stretch once it has joined its group.
 *
 *   node --import tsx bench/IdleService.ts [--seconds N] [--json]
 */
import { spawn } from "node:child_process"
import { caseSize } from "./BenchCase.ts"
import { cpuMicrosOf } from "./ProcFs.ts"
import { serviceEnv } from "./ServiceRun.ts"
import { startWireCluster } from "./WireCluster.ts"
import { buildCompiledService } from "../test/support/CompiledService.ts"
import { freePort, sleep } from "../test/support/ServiceProcess.ts"

/** Time for start-up and the group join before the stretch measured. */
const SETTLE_MS = 10_000

const secondsArg = (): number => {
  const at = process.argv.indexOf("--seconds")
  if (at === -1) return 20
  const n = Number(process.argv[at + 1])
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--seconds takes a positive integer, got ${process.argv[at + 1]}\nusage: node --import tsx bench/IdleService.ts [--seconds N] [--json]`)
    process.exit(1)
  }
  return n
}

const seconds = secondsArg()
const wire = await startWireCluster(caseSize("wire", "one-job", 1_000), "single-active")
const compiled = buildCompiledService()
const child = spawn(process.execPath, [...compiled.nodeOptions, compiled.script], {
  env: serviceEnv(wire.cluster.bootstrap, await freePort(), "single-active"),
  stdio: ["ignore", "ignore", "pipe"]
})
let stderr = ""
child.stderr.on("data", (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4_000)))
try {
  await sleep(SETTLE_MS)
  if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}) before the measure: ${stderr}`)
  const before = cpuMicrosOf(child.pid!)
  await sleep(seconds * 1_000)
  const cpuMsPerSecond = (cpuMicrosOf(child.pid!) - before) / 1_000 / seconds
  if (process.argv.includes("--json")) console.log(JSON.stringify({ node: process.version, seconds, cpuMsPerSecond }))
  else console.log(`the idle service: ${cpuMsPerSecond.toFixed(1)} ms CPU per second over ${seconds} s (node ${process.version})`)
} finally {
  child.kill("SIGTERM")
  await new Promise((resolve) => child.once("exit", resolve))
  await wire.stop()
}
process.exit(0)
