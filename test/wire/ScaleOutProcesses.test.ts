/**
 * Issue 9, Done-when 2: two service processes scaled out (PARTITION_ASSIGNMENT=co-partitioned)
 * in one group on the mock cluster, the sample produced by kcat keyed by review_id over 3
 * input partitions; one is killed (SIGKILL) mid-run and the other ends every job as
 * expected.json says.
 */
import { spawn } from "node:child_process"
import { expect, it } from "vitest"
import { kcatRead } from "../support/Kcat.ts"
import { json } from "../support/Outputs.ts"
import { loadExpected, loadSampleInput, sampleTimings } from "../support/Samples.ts"
import { type ServiceProcess, waitFor } from "../support/ServiceProcess.ts"
import { recordsIn, serviceCluster, serviceTopicNames } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const APP = "scaled-aggregator"
const TASK_PARTITIONS = 6
const env = { TIMEOUT_MS: String(sampleTimings.timeoutMs), WINDOW_INACTIVITY_MS: String(sampleTimings.windowInactivityMs) }
const input = loadSampleInput()
const decoder = new TextDecoder()
const sampleJobs = Object.keys(loadExpected().jobs)

/** Upstream keys: transform and analysis records by review_id, envelopes and control messages by job_id, the unreadable none. */
const upstreamKey = (value: Uint8Array): string => {
  try {
    const parsed = JSON.parse(decoder.decode(value))
    return typeof parsed?.review_id === "string" ? parsed.review_id : typeof parsed?.job_id === "string" ? parsed.job_id : ""
  } catch {
    return ""
  }
}

/** Produces `values` with kcat, each keyed by `upstreamKey` (`-K` splits key and value at a tab, which no sample line holds). */
const kcatProduceKeyed = async (bootstrap: string, topic: string, values: ReadonlyArray<Uint8Array>) => {
  const child = spawn("kcat", ["-P", "-b", bootstrap, "-t", topic, "-K", "\t"], { stdio: ["pipe", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => void (stderr += c.toString()))
  child.stdin.end(Buffer.concat(values.flatMap((v) => [Buffer.from(`${upstreamKey(v)}\t`), v, Buffer.from("\n")])))
  const code = await new Promise<number | null>((r) => child.once("exit", r))
  if (code !== 0) throw new Error(`kcat -P -K ${topic} exited ${code}: ${stderr}`)
}

/** Review tasks a process has restored so far (its log), one line per assignment of a task. */
const restoredTasks = (service: ServiceProcess): number => service.output().match(/restored task \S+\/\d+ from \d+ changelog records/g)?.length ?? 0

/** The sample's jobs a process holds in its state now (/jobs/:job_id answers 200). */
const heldJobs = async (service: ServiceProcess): Promise<ReadonlyArray<string>> => {
  const held = await Promise.all(sampleJobs.map(async (id) => ((await service.get(`/jobs/${id}`).catch(() => undefined))?.status === 200 ? [id] : [])))
  return held.flat()
}

/** Jobs the service has ended: an `aggregation` status it wrote to the control topic. */
const endedJobs = async (bootstrap: string, control: string): Promise<ReadonlySet<string>> =>
  new Set((await kcatRead(bootstrap, control)).filter((r) => r.headers["producer"] === APP).map(json).filter((m) => m.step === "aggregation").map((m) => m.job_id as string))

describeWire("the service scaled out over two processes on the mock cluster", { what: "the scale-out wire test", kcat: true }, () => {
  const wire = serviceCluster(APP, { assignment: { partitions: TASK_PARTITIONS } })

  it("two co-partitioned processes share the sample keyed by review_id; one killed mid-run, the other ends every job as expected.json says", async () => {
    for (const lines of [input.control, input.transform, input.analysis]) {
      expect(lines.filter((v) => v.includes(9)), "sample lines holding a tab (the key delimiter)").toEqual([])
    }
    const first = await wire.start(env)
    await first.waitUntilReady(60_000)
    const second = await wire.start(env)
    await second.waitUntilReady(60_000)
    // Ready means restored: each has restored the tasks of the assignment that gave it some.
    await waitFor("both processes holding review tasks", 60_000, () => restoredTasks(first) > 0 && restoredTasks(second) > 0, { watching: [first, second] })
    await first.waitUntilReady(60_000)

    const topic = serviceTopicNames(APP)
    const { bootstrap } = wire.cluster
    await kcatProduceKeyed(bootstrap, topic.control, input.control)
    await Promise.all([kcatProduceKeyed(bootstrap, topic.transform, input.transform), kcatProduceKeyed(bootstrap, topic.analysis, input.analysis)])
    const joined = (await wire.inputOffsets()).filter((o) => o.group === `${APP}-repartition` && (o.topic === topic.transform || o.topic === topic.analysis))
    expect(joined.filter((o) => o.end === 0).map((o) => `${o.topic}/${o.partition}`), "input partitions left empty by keying by review_id").toEqual([])

    await waitFor("some joined rows written", 60_000, async () => (await kcatRead(bootstrap, topic.rows)).length > 0, { watching: [first, second], everyMs: 100 })
    // The victim is the process holding more jobs (members' ids, hence their partitions, differ from run to run).
    const [heldByFirst, heldBySecond] = await Promise.all([heldJobs(first), heldJobs(second)])
    const [victim, survivor, held] = heldByFirst.length >= heldBySecond.length ? [first, second, heldByFirst] : [second, first, heldBySecond]
    expect(await recordsIn(victim), "records the victim consumed before the kill").toBeGreaterThan(0)
    const survivorTasksBefore = restoredTasks(survivor)
    victim.signal("SIGKILL")
    expect(await victim.exited, "the victim killed").toEqual({ code: null, signal: "SIGKILL" })
    const endedAtKill = await endedJobs(bootstrap, topic.control)
    expect(held.filter((id) => !endedAtKill.has(id)), "jobs the victim held unfinished when it was killed").not.toEqual([])

    await waitFor("every sample job finished and every input committed by the survivor", 75_000, wire.sampleFinished, {
      watching: [survivor],
      everyMs: 500,
      context: () => `--- killed process output:\n${victim.output()}`
    })
    expect(restoredTasks(survivor), "review tasks the survivor restored after the kill (taking over the victim's)").toBeGreaterThan(survivorTasksBefore)
    const { exit } = await survivor.stop("SIGTERM", 30_000)
    expect(exit, `exit after SIGTERM; output:\n${survivor.output()}`).toEqual({ code: 0, signal: null })
    await wire.expectSampleExact({ outputsMayRepeat: true })
  }, 180_000)
})
