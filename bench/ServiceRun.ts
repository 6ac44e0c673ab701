/**
 * The wire path's measured run: the service started as the image starts it (compiled, the
 * Dockerfile's CMD: test/support/CompiledService.ts), settings in its environment, pointed
 * at the mock cluster; timed from its first records read to every job's final status on the
 * control topic, its CPU and memory read from /proc.
 */
import { spawn } from "node:child_process"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { CompiledService } from "../test/support/CompiledService.ts"
import { MOCK_CONSUMER_SETTINGS } from "../test/support/MockKafkaCluster.ts"
import { freePort, sleep, within } from "../test/support/ServiceProcess.ts"
import type { ModeName } from "./BenchArgs.ts"
import type { CaseSize, InputTally } from "./BenchCase.ts"
import { cpuMicrosOf, peakRssOf, rssOf } from "./ProcFs.ts"
import { sampleRss } from "./RssSampler.ts"
import { finalStatus, type LoopSplit, reviewMessages, type RunResult, throughput } from "./RunResult.ts"
import { APPLICATION_ID, TOPICS, type WireCluster } from "./WireCluster.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")

/** The service's settings on the mock, as the wire tests use them (quick group joins, quiet kafkajs, no traces). */
export const serviceEnv = (bootstrap: string, httpPort: number, mode: ModeName): NodeJS.ProcessEnv => ({
  ...process.env,
  BOOTSTRAP_SERVERS: bootstrap,
  APPLICATION_ID,
  // WireCluster created the topics the service's plan lists for this mode.
  PARTITION_ASSIGNMENT: mode,
  HTTP_PORT: String(httpPort),
  KAFKA_SESSION_TIMEOUT_MS: String(MOCK_CONSUMER_SETTINGS.sessionTimeout),
  KAFKA_REBALANCE_TIMEOUT_MS: String(MOCK_CONSUMER_SETTINGS.rebalanceTimeout),
  KAFKA_HEARTBEAT_INTERVAL_MS: String(MOCK_CONSUMER_SETTINGS.heartbeatInterval),
  KAFKA_LOG_LEVEL: "warn",
  SHUTDOWN_TIMEOUT_MS: "5000",
  OTEL_SDK_DISABLED: "true"
})

/** Follows the control topic with kcat and calls `onStatus` with each job's final status as it is written. */
const followControl = (bootstrap: string, onStatus: (jobId: string, status: string) => void) => {
  const child = spawn("kcat", ["-C", "-b", bootstrap, "-t", TOPICS.control, "-o", "beginning", "-u", "-q", "-f", "%s\\n", "-X", "fetch.wait.max.ms=20"], {
    stdio: ["ignore", "pipe", "ignore"]
  })
  let partial = ""
  child.stdout.setEncoding("utf8")
  child.stdout.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n")
    partial = lines.pop()!
    for (const line of lines) {
      const message = JSON.parse(line) as { readonly job_id: string; readonly step?: unknown; readonly status?: unknown }
      const status = finalStatus(message)
      if (status !== undefined) onStatus(message.job_id, status)
    }
  })
  const stop = () => void child.kill("SIGTERM")
  process.once("exit", stop)
  return {
    stop: () => {
      process.off("exit", stop)
      stop()
    }
  }
}

/** The service's /metrics, as Prometheus text. */
const metricsText = async (httpPort: number): Promise<string> =>
  (await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(2_000) })).text()

/**
 * The value of the review task's series (not the repartition stage's) with exactly these
 * labels (none: `labels` undefined), undefined when absent.
 */
const seriesValue = (text: string, name: string, labels?: string): number | undefined => {
  const value = new RegExp(`^review_aggregator_${name}${labels === undefined ? "" : `\\{${labels}\\}`} (\\S+)`, "m").exec(text)?.[1]
  return value === undefined ? undefined : Number(value)
}

const writeSteps = ["outputs", "changelog", "commit"] as const
type WriteStepName = (typeof writeSteps)[number]

/** A figure for each write step. */
const perStep = (value: (step: WriteStepName) => number): LoopSplit["writeStepSeconds"] =>
  ({ outputs: value("outputs"), changelog: value("changelog"), commit: value("commit") })

/** Where the review task's consuming loop spent its time so far (its /metrics); undefined if a wait series is missing. */
const loopTimes = async (httpPort: number): Promise<LoopSplit | undefined> => {
  const text = await metricsText(httpPort)
  const inputWaitSeconds = seriesValue(text, "wait_seconds_total", `what="input"`)
  const writeWaitSeconds = seriesValue(text, "wait_seconds_total", `what="write"`)
  // The waits are listed from the start; a step's histogram series once the step has run.
  if (inputWaitSeconds === undefined || writeWaitSeconds === undefined) return undefined
  return {
    events: seriesValue(text, "batch_processing_seconds_count") ?? 0,
    handlingSeconds: seriesValue(text, "batch_processing_seconds_sum") ?? 0,
    inputWaitSeconds,
    writeWaitSeconds,
    writeStepSeconds: perStep((step) => seriesValue(text, "write_step_seconds_sum", `step="${step}"`) ?? 0)
  }
}

/** What changed between two readings: the run alone. */
const loopTimesBetween = (start: LoopSplit, end: LoopSplit): LoopSplit => ({
  events: end.events - start.events,
  handlingSeconds: end.handlingSeconds - start.handlingSeconds,
  inputWaitSeconds: end.inputWaitSeconds - start.inputWaitSeconds,
  writeWaitSeconds: end.writeWaitSeconds - start.writeWaitSeconds,
  writeStepSeconds: perStep((step) => end.writeStepSeconds[step] - start.writeStepSeconds[step])
})

/** Transform and analysis records the service has read (its /metrics). */
const recordsIn = async (httpPort: number): Promise<number> => {
  let sum = 0
  for (const m of (await metricsText(httpPort)).matchAll(/^review_aggregator_records_in_total\{topic="([^"]*)"\} (\d+)/gm)) {
    if (m[1] === TOPICS.transform || m[1] === TOPICS.analysis) sum += Number(m[2])
  }
  return sum
}

/** Join keys waiting for their other side (its /metrics; the service updates the gauge on its clock ticks). */
const pendingJoinKeys = async (httpPort: number): Promise<number> => seriesValue(await metricsText(httpPort), "state_pending_join_keys") ?? 0

/**
 * Polls the pending join keys while the service runs: when one input is read far ahead of
 * the other, its records wait in the join buffer, and that is where a run's memory goes.
 */
const followPendingJoins = (httpPort: number) => {
  let peak = 0
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await pendingJoinKeys(httpPort).catch(() => 0))
      await sleep(500)
    }
  })()
  return { stop: async () => {
    stopped = true
    await done
    return peak
  } }
}

export type ServiceRunResult = Pick<RunResult, "service" | "outcome">

export const serviceRun = async (
  compiled: CompiledService,
  wire: WireCluster,
  size: CaseSize,
  input: InputTally,
  timeoutMs: number
): Promise<ServiceRunResult> => {
  const statuses = new Map<string, string>()
  let finished: ((at: { readonly wall: number; readonly cpuMicros: number }) => void) | undefined
  const allFinished = new Promise<{ readonly wall: number; readonly cpuMicros: number }>((r) => (finished = r))
  const httpPort = await freePort()
  // BENCH_SERVICE_NODE_ARGS: extra node flags for the service alone (e.g. `--cpu-prof`, which NODE_OPTIONS refuses).
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
  // From the checkout, as before, so that files the flags write (profiles) land there and
  // not in the compiled copy's temporary directory.
  const child = spawn(process.execPath, [...nodeArgs, ...compiled.nodeOptions, compiled.script], {
    cwd: repoRoot,
    env: serviceEnv(wire.cluster.bootstrap, httpPort, wire.mode),
    stdio: ["ignore", "pipe", "pipe"]
  })
  const pid = child.pid!
  // A bench stopped early must not leave the service running.
  const killOnExit = () => void child.kill("SIGKILL")
  process.once("exit", killOnExit)
  let output = ""
  const keep = (chunk: Buffer) => void (output = (output + chunk.toString("utf8")).slice(-4_000))
  child.stdout.on("data", keep)
  child.stderr.on("data", keep)
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, signal) => reject(new Error(`the service exited early (code ${code}, signal ${signal})`)))
  )
  exited.catch(() => {})
  const control = followControl(wire.cluster.bootstrap, (jobId, status) => {
    statuses.set(jobId, status)
    // Read at once: the CPU time and wall time of the moment the last status arrives.
    if (statuses.size === size.jobs) finished?.({ wall: performance.now(), cpuMicros: cpuMicrosOf(pid) })
  })
  const rss = sampleRss(() => rssOf(pid))
  const pending = followPendingJoins(httpPort)
  try {
    const started = await Promise.race([
      exited,
      within(120_000, "the service reading its first records (/metrics records_in_total > 0)", (async () => {
        while ((await recordsIn(httpPort).catch(() => 0)) === 0) await sleep(20)
        return { wall: performance.now(), cpuMicros: cpuMicrosOf(pid), rssBytes: rssOf(pid) ?? 0, loop: await loopTimes(httpPort).catch(() => undefined) }
      })())
    ])
    const ended = await Promise.race([exited, within(timeoutMs, `every job's final status (${statuses.size} of ${size.jobs} so far)`, allFinished)])
    const peak = rss.stop()
    const peakPendingJoins = await pending.stop()
    const maxRssBytes = peakRssOf(pid) ?? peak.peakBytes
    // records_in_total is counted per batch and may trail the last status by a moment; the
    // service may also be busy releasing the finished jobs' state for a few seconds.
    let messagesRead = 0
    const until = Date.now() + 60_000
    while (messagesRead < reviewMessages(input) && Date.now() < until) {
      messagesRead = await recordsIn(httpPort).catch(() => messagesRead)
      if (messagesRead < reviewMessages(input)) await sleep(100)
    }
    const seconds = (ended.wall - started.wall) / 1000
    // On stderr, beside the result: how the records were cut into events, and where the
    // run's time went in the review task's loop (handling, waiting for input or for the
    // previous write; the write steps run beside the handling of the next event).
    const end = await loopTimes(httpPort).catch(() => undefined)
    const loop = end === undefined || started.loop === undefined ? undefined : loopTimesBetween(started.loop, end)
    if (loop !== undefined && loop.events > 0) {
      const s = (n: number) => `${n.toFixed(1)} s`
      process.stderr.write(`service: ${loop.events} events, ${Math.round(messagesRead / loop.events)} messages per event, ` +
        `at most ${peakPendingJoins.toLocaleString("en-US")} join keys waiting; of ${s(seconds)}: ${s(loop.handlingSeconds)} handling, ` +
        `${s(loop.inputWaitSeconds)} waiting for input, ${s(loop.writeWaitSeconds)} for the previous write; ` +
        `writes ${writeSteps.map((step) => `${step} ${s(loop.writeStepSeconds[step])}`).join(", ")}\n`)
    }
    const byStatus: Record<string, number> = {}
    for (const status of statuses.values()) byStatus[status] = (byStatus[status] ?? 0) + 1
    return {
      service: {
        ...throughput(input.records, seconds, ended.cpuMicros - started.cpuMicros),
        messagesRead,
        baselineRssBytes: started.rssBytes,
        peakRssBytes: Math.max(peak.peakBytes, started.rssBytes),
        rssSamples: peak.samples,
        maxRssBytes,
        loop
      },
      outcome: { jobs: size.jobs, statuses: byStatus }
    }
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- service output (last 4 kB):\n${output}`)
  } finally {
    process.off("exit", killOnExit)
    rss.stop()
    await pending.stop()
    control.stop()
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000)
      await new Promise((r) => child.once("exit", r))
      clearTimeout(killer)
    }
  }
}
