/**
 * The review task in process, fed in the shape the wire feeds it: each input topic's
 * messages spread at random over partitions (as the wire bench's kcat producer spreads
 * them), and each event taking the next few messages of every partition in turn (as the
 * service's aligned events take a fetch round's batches). A job's reviews then arrive
 * over many events, each event touches many jobs, and a review's two sides often meet
 * only an event or more apart: the shape in which many jobs cost more than one (a job
 * snapshot and index and join chunks per job and event), without Kafka's noise and
 * round trips. A diagnostic, not a floor: `npm run bench` is the measure.
 *
 *   node --import tsx bench/WireShapeReplay.ts <case> <reviews> [--partitions N] [--per-partition N]
 *        [--profile cpu|alloc <file>] [--json]
 *
 * The whole input is held in memory (the spread needs it), so the RSS printed is not the
 * task's alone. `--per-partition 39` (the default) makes the many-jobs case write about as
 * many changelog records per review as the wire bench's service does (0.5).
 */
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { CASES, type CaseName } from "./BenchArgs.ts"
import { caseLines, caseSize } from "./BenchCase.ts"
import { benchTask, benchTaskSettings } from "./TaskRun.ts"
import { TaskDriver } from "./TaskDriver.ts"

const usage = `usage: node --import tsx bench/WireShapeReplay.ts <${CASES.join("|")}> <reviews> [--partitions N] [--per-partition N] [--profile cpu|alloc <file>] [--json]`

const fail = (message: string): never => {
  console.error(`${message}\n${usage}`)
  process.exit(1)
}

const positive = (name: string, text: string | undefined): number => {
  const n = Number(text)
  return text !== undefined && /^\d+$/.test(text) && n > 0 ? n : fail(`${name} must be a positive integer, got "${text}"`)
}

const args = process.argv.slice(2)
const option = (name: string): string | undefined => {
  const at = args.indexOf(name)
  return at === -1 ? undefined : args[at + 1] ?? fail(`${name} needs a value`)
}
const [name, reviewsText] = args
if (!(CASES as ReadonlyArray<string>).includes(name ?? "")) fail(`the case must be one of ${CASES.join(", ")}, got "${name}"`)
const reviews = positive("reviews", reviewsText)
const partitions = positive("--partitions", option("--partitions") ?? "64")
const perPartition = positive("--per-partition", option("--per-partition") ?? "39")
const profile = option("--profile")
if (profile !== undefined && profile !== "cpu" && profile !== "alloc") fail(`--profile must be cpu or alloc, got "${profile}"`)
const profileFile = profile === undefined ? undefined : args[args.indexOf("--profile") + 2] ?? fail("--profile needs a file to write")

// The spread: a fixed seed, so every run (and every commit compared) gets the same events.
let seed = 42
const random = () => (seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x80000000
const control: Array<Uint8Array> = []
const spread = { transform: Array.from({ length: partitions }, (): Array<Uint8Array> => []), analysis: Array.from({ length: partitions }, (): Array<Uint8Array> => []) }
let inputBytes = 0
for (const line of caseLines(caseSize("inprocess", name as CaseName, reviews))) {
  inputBytes += line.value.byteLength
  if (line.topic === "control") control.push(line.value)
  else spread[line.topic][Math.floor(random() * partitions)]!.push(line.value)
}

const { task } = benchTask()
const driver = new TaskDriver(task, { applicationId: benchTaskSettings.applicationId, dlqTopic: "dlq" })
driver.at(Date.now())
for (const value of control) driver.process("control", value)
driver.endBatch()

const session = new Session()
session.connect()
if (profile === "cpu") {
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 200 })
  await session.post("Profiler.start")
}
if (profile === "alloc") {
  await session.post("HeapProfiler.enable")
  await session.post("HeapProfiler.startSampling", { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
}

const byStore = new Map<string, { records: number; bytes: number }>()
const position = { transform: new Array<number>(partitions).fill(0), analysis: new Array<number>(partitions).fill(0) }
let records = 0
let events = 0
const cpuBefore = process.cpuUsage()
const started = performance.now()
for (let more = true; more;) {
  more = false
  driver.at(Date.now())
  for (const topic of ["transform", "analysis"] as const) {
    for (let p = 0; p < partitions; p++) {
      const messages = spread[topic][p]!
      const end = Math.min(messages.length, position[topic][p]! + perPartition)
      for (let i = position[topic][p]!; i < end; i++) driver.process(topic, messages[i]!)
      records += end - position[topic][p]!
      position[topic][p] = end
      if (end < messages.length) more = true
    }
  }
  events++
  for (const r of driver.endBatch().changelog) {
    const key = String(r.key)
    const store = key.slice(0, key.indexOf("|"))
    const tally = byStore.get(store) ?? { records: 0, bytes: 0 }
    tally.records++
    tally.bytes += Buffer.byteLength(key) + (r.value === null ? 0 : typeof r.value === "string" ? Buffer.byteLength(r.value) : r.value.byteLength)
    byStore.set(store, tally)
  }
}
const seconds = (performance.now() - started) / 1000
const cpu = process.cpuUsage(cpuBefore)
if (profile === "cpu") writeFileSync(profileFile!, JSON.stringify((await session.post("Profiler.stop")).profile))
if (profile === "alloc") writeFileSync(profileFile!, JSON.stringify((await session.post("HeapProfiler.stopSampling")).profile))

const changelog = [...byStore.values()].reduce((t, s) => ({ records: t.records + s.records, bytes: t.bytes + s.bytes }), { records: 0, bytes: 0 })
const result = {
  case: name,
  reviews,
  partitions,
  perPartition,
  records,
  events,
  recordsPerSecond: records / seconds,
  cpuMicrosPerRecord: (cpu.user + cpu.system) / records,
  changelog: {
    recordsPerReview: changelog.records / reviews,
    bytesPerReview: changelog.bytes / reviews,
    bytesPerInputByte: changelog.bytes / inputBytes,
    byStore: Object.fromEntries([...byStore].map(([store, s]) => [store, { recordsPerReview: s.records / reviews, bytesPerReview: s.bytes / reviews }]))
  },
  rssBytes: process.memoryUsage.rss()
}
if (args.includes("--json")) console.log(JSON.stringify(result))
else {
  console.log(`${name}, ${reviews.toLocaleString("en")} reviews over ${partitions} partitions a topic, ${perPartition} messages a partition an event (node ${process.version})`)
  console.log(`${records.toLocaleString("en")} records in ${events} events: ${Math.round(result.recordsPerSecond).toLocaleString("en")} records/s, ${result.cpuMicrosPerRecord.toFixed(2)} µs CPU per record`)
  console.log(`changelog ${result.changelog.recordsPerReview.toFixed(3)} records and ${Math.round(result.changelog.bytesPerReview)} B per review (${result.changelog.bytesPerInputByte.toFixed(2)} x input)`)
  for (const [store, s] of byStore) console.log(`  ${store.padEnd(12)} ${(s.records / reviews).toFixed(3)} records, ${Math.round(s.bytes / reviews)} B per review`)
  console.log(`RSS ${(result.rssBytes / 2 ** 20).toFixed(1)} MiB (the input included)${profileFile === undefined ? "" : `; ${profile} profile in ${profileFile}`}`)
}
