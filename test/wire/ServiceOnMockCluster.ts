/**
 * The service as a real process (`node --import tsx src/main.ts`) for wire tests on the
 * mock cluster: start it with settings, read its log, metrics and exit, and check what it
 * committed and wrote with independent clients (kafkajs admin, kcat).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { Kafka } from "kafkajs"
import { generateJob, type GeneratedJob } from "../../src/app/ReviewGenerator.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

export const inputTopics = {
  transform: "realtime-review-transform-topic",
  analysis: "realtime-review-analysis-topic",
  control: "job-control-topic"
} as const

/** The topics the service reads and writes, as the mock cluster must pre-create them. */
export const serviceTopics = (applicationId: string) => [
  { name: inputTopics.transform, partitions: 3 },
  { name: inputTopics.analysis, partitions: 3 },
  { name: inputTopics.control, partitions: 1 },
  { name: "review-rows", partitions: 2 },
  { name: "review-agg-by-job", partitions: 2 },
  { name: "review-dlq", partitions: 1 },
  { name: `${applicationId}-job-state-changelog`, partitions: 1 }
]

export const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))))
    })
  })

export interface ServiceProcess {
  readonly child: ChildProcess
  readonly httpPort: number
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** Starts the service; the mock coordinator's quick-rejoin settings unless `env` says otherwise. */
export const startService = async (bootstrap: string, applicationId: string, env: Record<string, string> = {}): Promise<ServiceProcess> => {
  const httpPort = await freePort()
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      BOOTSTRAP_SERVERS: bootstrap,
      APPLICATION_ID: applicationId,
      HTTP_PORT: String(httpPort),
      // The mock's group coordinator: 6 s sessions keep rejoins short (MockKafkaCluster.ts).
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      KAFKA_REBALANCE_TIMEOUT_MS: "10000",
      KAFKA_HEARTBEAT_INTERVAL_MS: "500",
      KAFKA_LOG_LEVEL: "warn",
      SHUTDOWN_TIMEOUT_MS: "5000",
      OTEL_SDK_DISABLED: "true",
      ...env
    }
  })
  let output = ""
  const append = (chunk: Buffer) => void (output = (output + chunk.toString("utf8")).slice(-400_000))
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once("exit", (code, signal) => resolveExit({ code, signal }))
  )
  return { child, httpPort, output: () => output, exited }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> =>
  new Promise<A>((resolveWithin, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    promise.then(
      (a) => (clearTimeout(timer), resolveWithin(a)),
      (e: unknown) => (clearTimeout(timer), reject(e))
    )
  })

/** Polls `check` every `everyMs` until it holds; fails naming `what` (and the services' logs) after `ms`. */
export const waitFor = async (
  ms: number,
  what: string,
  check: () => Promise<boolean> | boolean,
  services: ReadonlyArray<ServiceProcess> = [],
  everyMs = 250
): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    const dead = services.find((s) => s.child.exitCode !== null)
    if (dead !== undefined) throw new Error(`${what}: a service exited early (${dead.child.exitCode}):\n${dead.output()}`)
    if (Date.now() > deadline) {
      throw new Error(`waited ${ms} ms for ${what}\n${services.map((s, i) => `--- service ${i} output:\n${s.output()}`).join("\n")}`)
    }
    await sleep(everyMs)
  }
}

/** Records consumed so far by a running service, summed over its input topics (its /metrics). */
export const recordsIn = async (service: ServiceProcess): Promise<number> => {
  const res = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`).catch(() => undefined)
  if (res === undefined || !res.ok) return 0
  let sum = 0
  for (const m of (await res.text()).matchAll(/^review_aggregator_records_in_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1])
  return sum
}

/** Committed offsets of the group and end offsets, summed over the input topics. */
export const committedAndEnd = async (kafka: Kafka, groupId: string) => {
  const admin = kafka.admin()
  await admin.connect()
  try {
    let committed = 0
    let end = 0
    for (const topic of Object.values(inputTopics)) {
      const ends = await admin.fetchTopicOffsets(topic)
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
      for (const e of ends) {
        end += Number(e.high)
        const c = Number(offsets?.partitions.find((p) => p.partition === e.partition)?.offset ?? "-1")
        committed += c < 0 ? 0 : c
      }
    }
    return { committed, end }
  } finally {
    await admin.disconnect()
  }
}

/** Produces one message per value with kcat (null keys, spread over the partitions), as an upstream client would. */
export const kcatProduce = async (bootstrap: string, topic: string, values: ReadonlyArray<string>) => {
  const child = spawn("kcat", ["-P", "-b", bootstrap, "-t", topic], { stdio: ["pipe", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => void (stderr += c.toString()))
  child.stdin.end(values.map((v) => `${v}\n`).join(""))
  const code = await new Promise<number | null>((r) => child.once("exit", r))
  if (code !== 0) throw new Error(`kcat -P ${topic} exited ${code}: ${stderr}`)
}

/** Clean generated jobs (every review transformed and analysed once), so each must end `aggregation done`. */
export const cleanJobs = (prefix: string, count: number, reviews: number): ReadonlyArray<GeneratedJob> =>
  Array.from({ length: count }, (_, i) => generateJob({ jobId: `${prefix}-${i}`, reviews, seed: 7_000 + i, emptyShare: 0.1 }))

/** Produces the jobs' inputs: control first, so each job's collection message precedes its records. */
export const produceJobs = async (bootstrap: string, jobs: ReadonlyArray<GeneratedJob>) => {
  await kcatProduce(bootstrap, inputTopics.control, jobs.flatMap((j) => j.control))
  await Promise.all([
    kcatProduce(bootstrap, inputTopics.transform, jobs.flatMap((j) => j.transform)),
    kcatProduce(bootstrap, inputTopics.analysis, jobs.flatMap((j) => j.analysis))
  ])
}
