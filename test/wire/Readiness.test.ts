/**
 * Readiness follows the brokers: the real service process against the mock Kafka
 * cluster turns /readyz 503 within 10 s of the cluster freezing (SIGSTOP on the mock's
 * launcher: connections stay open, nothing answers) and 200 again once it resumes.
 * The same run checks the container log format: every stdout line is one JSON object,
 * one line per job outcome, none per probe or scrape.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockKafkaCluster, mockClusterAvailable, startMockKafkaCluster, wireTestsRequired } from "../support/MockKafkaCluster.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const toolchain = mockClusterAvailable()

if (!toolchain.ok && wireTestsRequired()) {
  describe("readiness on the mock cluster", () => {
    it("has the mock Kafka toolchain (required by REQUIRE_WIRE_TESTS)", () => {
      expect.fail(`REQUIRE_WIRE_TESTS is set but the readiness wire test cannot run: ${toolchain.ok ? "" : toolchain.reason}`)
    })
  })
}

const APP = "readiness-aggregator"
const topic = {
  transform: "realtime-review-transform-topic",
  analysis: "realtime-review-analysis-topic",
  control: "job-control-topic",
  rows: "review-rows",
  agg: "review-agg-by-job",
  dlq: "review-dlq",
  changelog: `${APP}-job-state-changelog`
} as const

const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))))
    })
  })

/** The mock cluster's launcher: this test process's child running the `launcher` binary. */
const launcherPid = (): number => {
  const pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
      // Fields after the parenthesised command name: state, ppid, ...
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat) ?? []
      return comm === "launcher" && Number(rest?.split(" ")[1]) === process.pid
    } catch {
      return false
    }
  })
  if (pids.length !== 1) throw new Error(`expected one mock cluster launcher child, found ${pids.length}`)
  return Number(pids[0])
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls until `check` holds; returns the milliseconds it took, or fails after `limitMs`. */
const waitFor = async (what: string, limitMs: number, check: () => Promise<boolean>, context: () => string): Promise<number> => {
  const start = Date.now()
  while (Date.now() - start < limitMs) {
    if (await check().catch(() => false)) return Date.now() - start
    await sleep(250)
  }
  throw new Error(`not within ${limitMs} ms: ${what}\n${context()}`)
}

describe.skipIf(!toolchain.ok)(`readiness on the mock cluster${toolchain.ok ? "" : ` (skipped: ${toolchain.reason})`}`, () => {
  let cluster: MockKafkaCluster
  let service: ChildProcess | undefined
  let frozen: number | undefined

  beforeAll(async () => {
    cluster = await startMockKafkaCluster({ topics: Object.values(topic).map((name) => ({ name, partitions: 1 })) })
  })

  afterAll(async () => {
    if (frozen !== undefined) process.kill(frozen, "SIGCONT")
    if (service !== undefined && service.exitCode === null) service.kill("SIGKILL")
    await cluster?.stop()
  })

  it("turns /readyz 503 within 10 s of the brokers freezing and 200 once they answer again, logging JSON lines", async () => {
    const httpPort = await freePort()
    // Not a terminal and no LOG_FORMAT: the format the container gets.
    const { LOG_FORMAT: _format, ...inherited } = process.env
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...inherited,
        BOOTSTRAP_SERVERS: cluster.bootstrap,
        APPLICATION_ID: APP,
        HTTP_PORT: String(httpPort),
        WINDOW_INACTIVITY_MS: "1000",
        KAFKA_SESSION_TIMEOUT_MS: "6000",
        KAFKA_REBALANCE_TIMEOUT_MS: "10000",
        KAFKA_HEARTBEAT_INTERVAL_MS: "500",
        KAFKA_LOG_LEVEL: "warn",
        SHUTDOWN_TIMEOUT_MS: "5000",
        OTEL_SDK_DISABLED: "true",
        LOG_LEVEL: "info"
      }
    })
    service = child
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (c: Buffer) => void (stdout += c.toString("utf8")))
    child.stderr!.on("data", (c: Buffer) => void (stderr += c.toString("utf8")))
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)))
    const output = () => `stdout:\n${stdout.slice(-20_000)}\nstderr:\n${stderr.slice(-5_000)}`
    const readyz = async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }

    await waitFor("ready after start-up", 60_000, async () => (await readyz()).status === 200, output)

    const kafka = new Kafka({ clientId: "readiness-check", brokers: [...cluster.brokers], logLevel: logLevel.NOTHING })
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const json = (values: ReadonlyArray<unknown>) => values.map((v) => ({ value: JSON.stringify(v) }))
    await producer.send({
      topic: topic.control,
      messages: json([
        { job_id: "ready-done", step: "collection", status: "done", expected_count: 1 },
        { job_id: "ready-failed", step: "collection", status: "failed", error_message: "crawler blocked" }
      ])
    })
    await producer.send({ topic: topic.transform, messages: json([{ job_id: "ready-done", review_id: "r1", rating: 5, review_text: "좋아요", review_date: "2026-11-20" }]) })
    await producer.send({ topic: topic.analysis, messages: json([{ job_id: "ready-done", review_id: "r1", sentiment: "긍정", summary: "좋음" }]) })
    await producer.disconnect()
    const jobs = async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/jobs`, { signal: AbortSignal.timeout(2_000) })
      return ((await res.json()) as { jobs: ReadonlyArray<{ job_id: string; outcome: string }> }).jobs
    }
    await waitFor("both jobs finished", 60_000, async () => {
      const listed = await jobs()
      return listed.length === 2 && listed.every((j) => !j.outcome.startsWith("running"))
    }, output)

    // Probes and scrapes while running: none of them may be logged.
    for (let i = 0; i < 5; i++) {
      for (const path of ["/healthz", "/readyz", "/metrics", "/"]) await fetch(`http://127.0.0.1:${httpPort}${path}`)
    }

    frozen = launcherPid()
    process.kill(frozen, "SIGSTOP")
    const unready = await waitFor("503 after the brokers froze", 30_000, async () => (await readyz()).status === 503, output)
    expect(unready, "milliseconds from freezing the brokers to /readyz 503").toBeLessThan(10_000)
    expect((await readyz()).body).toMatchObject({ status: "not ready", state: "restored", kafka: "unreachable" })
    // An outage lasts a while: stay frozen a little longer, still unready.
    await sleep(2_000)
    expect((await readyz()).status, "still 503 while the brokers stay frozen").toBe(503)

    process.kill(frozen, "SIGCONT")
    frozen = undefined
    await waitFor("200 after the brokers resumed", 60_000, async () => (await readyz()).status === 200, output)
    expect((await readyz()).body).toMatchObject({ status: "ready", kafka: "reachable" })

    child.kill("SIGTERM")
    expect(await exited, `exit after SIGTERM\n${output()}`).toBe(0)

    const lines = stdout.split("\n").filter((l) => l.trim().length > 0).map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`)
      }
    })
    for (const line of lines) expect(line, "timestamp, level and message on every line").toMatchObject({ timestamp: expect.any(String), level: expect.any(String), message: expect.anything() })
    const outcomes = lines.filter((l) => l["event"] === "job_finished")
    expect(outcomes.map((l) => `${l["job_id"]} ${l["status"]}`).sort(), "one line per job outcome").toEqual(["ready-done done", "ready-failed failed"])
    expect(outcomes.find((l) => l["job_id"] === "ready-failed")!["reason"]).toMatch(/crawler blocked/)
    expect(stdout, "probes, scrapes and the status page are not logged").not.toMatch(/healthz|readyz|"http\.url":"\/(metrics)?"/)
    expect(lines.some((l) => l["level"] === "WARN" && String(l["message"]).startsWith("Kafka unreachable")), "losing Kafka is logged").toBe(true)
    expect(lines.some((l) => l["message"] === "Kafka reachable again"), "regaining Kafka is logged").toBe(true)
  }, 240_000)
})
