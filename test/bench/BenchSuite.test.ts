/**
 * `npm run bench` as a suite: on a tiny size with --json it prints one document whose
 * figures agree with each other (every message read by the service and by the floor, every
 * job done, a changelog written, ratio = rate / floor rate); bad arguments stop it with the
 * usage. Timings are never asserted. The wire path runs where the mock cluster can be built.
 */
import { execFile } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import type { Median } from "../../bench/Medians.ts"
import type { RunResult } from "../../bench/RunResult.ts"
import { describeWire } from "../wire/WireSuite.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const bench = (args: ReadonlyArray<string>, timeoutMs: number): Promise<Ran> =>
  new Promise((resolveRun) => {
    execFile(process.execPath, ["--import", "tsx", "bench/Suite.ts", ...args], { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) =>
      resolveRun({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

interface BenchDocument {
  readonly node: string
  readonly cpus: number
  readonly args: { readonly paths: ReadonlyArray<string>; readonly cases: ReadonlyArray<string>; readonly reviews: number | null; readonly repeat: number; readonly mode: string }
  readonly runs: ReadonlyArray<RunResult>
  readonly medians: ReadonlyArray<Median>
}

const documentOf = (ran: Ran): BenchDocument => {
  expect(ran.code, `bench exit code; stderr:\n${ran.stderr}`).toBe(0)
  return JSON.parse(ran.stdout) as BenchDocument
}

/** What holds for every run, whatever the path: counts agree and derived figures follow from them. */
/** On the wire: the review task's loop split was read from the service's /metrics (the series exist), none of it negative. */
const expectLoopSplit = (run: RunResult) => {
  const loop = run.service.loop
  expect(loop, `${run.case}: the loop split from the service's /metrics`).toBeDefined()
  const { writeStepSeconds, ...rest } = loop!
  for (const [name, value] of Object.entries({ ...rest, ...writeStepSeconds })) expect(value, `${run.case}: ${name}`).toBeGreaterThanOrEqual(0)
}

const expectConsistent = (run: RunResult, reviews: number) => {
  const what = `${run.path}/${run.case}`
  expect(run.size.reviews, `${what}: reviews`).toBe(reviews)
  expect(run.input.records, `${what}: a transform and an analysis record per review`).toBe(2 * reviews)
  expect(run.input.perTopic.control.messages, `${what}: a collection message per job`).toBe(run.size.jobs)
  expect(run.input.messages, `${what}: messages per topic add up`).toBe(
    run.input.perTopic.transform.messages + run.input.perTopic.analysis.messages + run.input.perTopic.control.messages)
  const reviewMessages = run.input.perTopic.transform.messages + run.input.perTopic.analysis.messages
  expect(run.service.messagesRead, `${what}: transform and analysis messages the service read`).toBe(reviewMessages)
  expect(run.floor.messagesRead, `${what}: transform and analysis messages the floor read`).toBe(reviewMessages)
  expect(run.outcome, `${what}: every job ends aggregation/done`).toEqual({ jobs: run.size.jobs, statuses: { "aggregation/done": run.size.jobs } })
  expect(run.service.recordsPerSecond, `${what}: records/s`).toBeCloseTo(run.input.records / run.service.seconds, 6)
  expect(run.floor.recordsPerSecond, `${what}: floor records/s`).toBeCloseTo(run.input.records / run.floor.seconds, 6)
  expect(run.ratio, `${what}: ratio = records/s over floor records/s`).toBeCloseTo(run.service.recordsPerSecond / run.floor.recordsPerSecond, 9)
  expect(run.service.cpuMicrosPerRecord, `${what}: CPU per record`).toBeGreaterThan(0)
  expect(run.service.rssSamples, `${what}: RSS samples`).toBeGreaterThan(0)
  expect(run.service.peakRssBytes, `${what}: sampled peak RSS vs RSS at the start`).toBeGreaterThanOrEqual(run.service.baselineRssBytes)
  // Linux syncs per-thread RSS counters lazily, so its high-water mark may trail a sample by a little.
  expect(run.service.maxRssBytes, `${what}: the kernel's high-water mark vs the sampled peak`).toBeGreaterThanOrEqual(0.98 * run.service.peakRssBytes)
  expect(run.changelog.records, `${what}: changelog records`).toBeGreaterThan(0)
  expect(run.changelog.bytes, `${what}: changelog bytes`).toBeGreaterThan(0)
  expect(run.changelog.recordsPerReview, `${what}: changelog records per review`).toBeCloseTo(run.changelog.records / reviews, 9)
  expect(run.changelog.bytesPerReview, `${what}: changelog bytes per review`).toBeCloseTo(run.changelog.bytes / reviews, 9)
  expect(run.changelog.bytesPerInputByte, `${what}: changelog bytes per input byte`).toBeCloseTo(run.changelog.bytes / run.input.bytes, 9)
}

describe("npm run bench", () => {
  it("in process with --json: one document, each case consistent with itself", async () => {
    const doc = documentOf(await bench(["--json", "--reviews", "2000"], 180_000))
    expect(doc.node, "the Node version").toBe(process.version)
    expect(doc.args).toEqual({ paths: ["inprocess"], cases: ["one-job", "many-jobs", "envelopes"], reviews: 2000, repeat: 1, mode: "single-active" })
    expect(doc.runs.map((r) => `${r.path}/${r.case}`)).toEqual(["inprocess/one-job", "inprocess/many-jobs", "inprocess/envelopes"])
    for (const run of doc.runs) {
      expectConsistent(run, 2000)
      expect(run.floor.recordsCounted, `${run.case}: records the JSON floor counted`).toBe(run.input.records)
      expect(run.heap?.evicted, `${run.case}: jobs evicted after their retention`).toBe(true)
      // Measured after the first batch that reaches half the reviews: at least half, not all.
      expect(run.heap!.halfwayReviews, `${run.case}: reviews handled at the halfway heap`).toBeGreaterThanOrEqual(1000)
      expect(run.heap!.halfwayReviews, `${run.case}: reviews handled at the halfway heap`).toBeLessThan(2000)
      expect(run.mode, `${run.case}: no partition assignment in process`).toBeUndefined()
    }
    const [oneJob, manyJobs, envelopes] = doc.runs
    expect(oneJob!.size.jobs).toBe(1)
    expect(manyJobs!.size).toMatchObject({ jobs: 10, reviewsPerJob: 200 })
    expect(envelopes!.input.messages, "envelopes carry several records per message").toBeLessThan(envelopes!.input.records / 2)
    expect(doc.medians.map((m) => [m.path, m.case, m.runs])).toEqual(doc.runs.map((r) => [r.path, r.case, 1]))
  }, 200_000)

  it("the table keeps the lines the README's command is checked by", async () => {
    const ran = await bench(["1000", "--case", "one-job"], 120_000)
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toMatch(/^reviews\s+1,000$/m)
    expect(ran.stdout).toMatch(/^outcome\s+aggregation\/done$/m)
  }, 150_000)

  it.each([
    [["--case", "two-jobs"], "--case"],
    [["--path", "kafka"], "--path"],
    [["--reviews", "-5"], "--reviews"],
    [["--repeat", "0"], "--repeat"],
    [["--json=yes"], "--json"],
    [["--mode", "scaled-out"], "--mode"],
    [["--mode=single-active,co-partitioned"], "--mode"],
    [["--mode"], "--mode"],
    // One job's records all go to one repartition partition, more than the mock cluster keeps.
    [["--path", "wire", "--case", "one-job", "--reviews", "200000", "--mode", "co-partitioned"], "--mode co-partitioned"],
    [["--warmup"], "--warmup"],
    [["10", "20"], "positional"]
  ])("stops on %j with a message naming %s and the usage", async (args, named) => {
    const ran = await bench(args, 60_000)
    expect(ran.code, `exit code for ${args.join(" ")}`).toBe(1)
    expect(ran.stderr).toContain(named)
    expect(ran.stderr).toContain("usage: npm run bench --")
    expect(ran.stdout, "nothing measured").toBe("")
  })
})

describeWire("npm run bench on the wire", { what: "the wire bench", kcat: true }, () => {
  it("--path wire --json: the service and the bare consumer read every message, every job done, the changelog counted", async () => {
    const doc = documentOf(await bench(["--json", "--path", "wire", "--case", "many-jobs,envelopes", "--reviews", "1000"], 400_000))
    expect(doc.runs.map((r) => `${r.path}/${r.case}`)).toEqual(["wire/many-jobs", "wire/envelopes"])
    for (const run of doc.runs) {
      expectConsistent(run, 1000)
      expect(run.input.partitions, `${run.case}: partitions per input topic`).toBe(64)
      expect(run.changelog.topics, `${run.case}: changelog topics`).toContain("bench-aggregator-job-state-changelog")
      expect(run.heap, "no heap figures on the wire").toBeUndefined()
      expectLoopSplit(run)
    }
    expect(doc.runs[0]!.size).toMatchObject({ jobs: 5, reviewsPerJob: 200 })
    expect(doc.runs.map((r) => r.mode), "the default mode").toEqual(["single-active", "single-active"])
  }, 420_000)

  it("--mode co-partitioned: the repartition stage and the review task read every message on the topics the plan lists, every job done", async () => {
    const ran = await bench(["--json", "--path", "wire", "--case", "many-jobs", "--reviews", "1000", "--mode", "co-partitioned"], 400_000)
    const doc = documentOf(ran)
    expect(doc.args.mode).toBe("co-partitioned")
    const [run] = doc.runs
    expectConsistent(run!, 1000)
    expect(run!.mode).toBe("co-partitioned")
    expectLoopSplit(run!)
    expect(doc.medians.map((m) => m.mode)).toEqual(["co-partitioned"])
    expect(run!.changelog.topics, "changelog topics").toContain("bench-aggregator-job-state-changelog")
    expect(run!.changelog.topics.some((t) => t.endsWith("-repartition")), "repartition topics are not changelog").toBe(false)
  }, 420_000)
})
