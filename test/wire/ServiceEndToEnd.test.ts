/**
 * The real service process (`src/main.ts`) against the mock Kafka cluster: the public
 * sample is produced by an independent client (kcat), the outputs are read back with
 * kcat and must match test/fixtures/sample/expected.json as in SampleReplay.test.ts;
 * SIGTERM then stops it with exit 0 and every input offset committed. Start-up refusals
 * (bad setting, missing topic, topics not co-partitioned) are checked on the same cluster.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createServer } from "node:net"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Kafka, logLevel } from "kafkajs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kcatRead } from "../support/Kcat.ts"
import { type MockKafkaCluster, mockClusterAvailable, startMockKafkaCluster, wireTestsRequired } from "../support/MockKafkaCluster.ts"
import { countBy, finalAggregates, json, sortKeys, text } from "../support/Outputs.ts"
import { loadExpected, loadSampleInput, sampleTimings } from "../support/Samples.ts"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

const toolchain = mockClusterAvailable()
const kcatProbe = spawnSync("kcat", ["-V"], { encoding: "utf8" })
const unavailable: string | undefined = !toolchain.ok
  ? toolchain.reason
  : kcatProbe.error !== undefined || kcatProbe.status !== 0
    ? "kcat not on PATH; install with: apt-get install -y kcat"
    : undefined
const wireRequired = wireTestsRequired()

if (unavailable !== undefined && wireRequired) {
  describe("service end to end on the mock cluster", () => {
    it("has the mock Kafka toolchain and kcat (required by REQUIRE_WIRE_TESTS)", () => {
      const message = `REQUIRE_WIRE_TESTS is set but the wire end-to-end test cannot run: ${unavailable}`
      console.error(message)
      expect.fail(message)
    })
  })
}

const APP = "e2e-aggregator"
const topic = {
  transform: "realtime-review-transform-topic",
  analysis: "realtime-review-analysis-topic",
  control: "job-control-topic",
  rows: "review-rows",
  agg: "review-agg-by-job",
  dlq: "review-dlq",
  changelog: `${APP}-job-state-changelog`,
  /** Not co-partitioned with the transform topic: the service must refuse it. */
  analysisOtherCount: "e2e-analysis-four-partitions"
} as const
const inputs = [topic.transform, topic.analysis, topic.control]

const freePort = () =>
  new Promise<number>((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolvePort(address.port) : reject(new Error("no port"))))
    })
  })

interface ServiceProcess {
  readonly child: ChildProcess
  readonly httpPort: number
  readonly output: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const startService = async (bootstrap: string, env: Record<string, string> = {}): Promise<ServiceProcess> => {
  const httpPort = await freePort()
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      BOOTSTRAP_SERVERS: bootstrap,
      APPLICATION_ID: APP,
      TIMEOUT_MS: String(sampleTimings.timeoutMs),
      WINDOW_INACTIVITY_MS: String(sampleTimings.windowInactivityMs),
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
  const append = (chunk: Buffer) => void (output = (output + chunk.toString("utf8")).slice(-200_000))
  child.stdout!.on("data", append)
  child.stderr!.on("data", append)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once("exit", (code, signal) => resolveExit({ code, signal }))
  )
  return { child, httpPort, output: () => output, exited }
}

const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> =>
  new Promise<A>((resolveWithin, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    promise.then(
      (a) => (clearTimeout(timer), resolveWithin(a)),
      (e: unknown) => (clearTimeout(timer), reject(e))
    )
  })

/** Produces one message per value with kcat (null keys), as an upstream client would. */
const kcatProduce = async (bootstrap: string, topicName: string, values: ReadonlyArray<Uint8Array>) => {
  const child = spawn("kcat", ["-P", "-b", bootstrap, "-t", topicName], { stdio: ["pipe", "ignore", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (c: Buffer) => void (stderr += c.toString()))
  child.stdin.end(Buffer.concat(values.flatMap((v) => [v, Buffer.from("\n")])))
  const code = await new Promise<number | null>((r) => child.once("exit", r))
  if (code !== 0) throw new Error(`kcat -P ${topicName} exited ${code}: ${stderr}`)
}


describe.skipIf(unavailable !== undefined)(
  `service end to end on the mock cluster${unavailable !== undefined ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    const expected = loadExpected()
    const input = loadSampleInput()
    let cluster: MockKafkaCluster
    let kafka: Kafka
    let service: ServiceProcess | undefined

    const committedAndEnd = async () => {
      const admin = kafka.admin()
      await admin.connect()
      try {
        const out: Array<{ topic: string; partition: number; committed: string; end: string }> = []
        for (const t of inputs) {
          const ends = await admin.fetchTopicOffsets(t)
          const [committed] = await admin.fetchOffsets({ groupId: APP, topics: [t] })
          for (const e of ends) {
            const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? "-1"
            // -1 is "nothing committed", which is right for a partition that never had a record.
            out.push({ topic: t, partition: e.partition, committed: c === "-1" ? "0" : c, end: e.high })
          }
        }
        return out
      } finally {
        await admin.disconnect()
      }
    }

    beforeAll(async () => {
      cluster = await startMockKafkaCluster({
        topics: [
          { name: topic.transform, partitions: 3 },
          { name: topic.analysis, partitions: 3 },
          // One partition keeps a job's control messages in order, as the collector's job_id key would.
          { name: topic.control, partitions: 1 },
          { name: topic.rows, partitions: 2 },
          { name: topic.agg, partitions: 2 },
          { name: topic.dlq, partitions: 1 },
          { name: topic.changelog, partitions: 1 },
          { name: topic.analysisOtherCount, partitions: 4 }
        ]
      })
      kafka = new Kafka({ clientId: "e2e-check", brokers: [...cluster.brokers], logLevel: logLevel.NOTHING })
    })

    afterAll(async () => {
      if (service !== undefined && service.child.exitCode === null) service.child.kill("SIGKILL")
      await cluster?.stop()
    })

    it("refuses to start, naming the problem, on a bad setting, a missing topic or topics not co-partitioned", async () => {
      const refusals = await Promise.all([
        { env: { KAFKA_COMPRESSION: "snappy" }, message: /KAFKA_COMPRESSION/ },
        { env: { OUTPUT_ROWS_TOPIC: "e2e-no-such-rows-topic" }, message: /'e2e-no-such-rows-topic' \(OUTPUT_ROWS_TOPIC\) does not exist.*AUTO_CREATE_TOPICS=true/ },
        {
          env: { INPUT_ANALYSIS_TOPIC: topic.analysisOtherCount },
          message: /INPUT_TRANSFORM_TOPIC '.*' has 3 partitions but INPUT_ANALYSIS_TOPIC '.*' has 4/
        }
      ].map(async ({ env, message }) => {
        const refused = await startService(cluster.bootstrap, env)
        const { code } = await within(60_000, `service refusing ${JSON.stringify(env)}`, refused.exited)
        return { env, message, code, output: refused.output() }
      }))
      for (const r of refusals) {
        expect(r.code, `exit code with ${JSON.stringify(r.env)}; output:\n${r.output}`).toBe(1)
        expect(r.output, `start-up message with ${JSON.stringify(r.env)}`).toMatch(r.message)
      }
    }, 90_000)

    it("aggregates the sample produced by kcat like the replay, then stops on SIGTERM with exit 0 and all offsets committed", async () => {
      await Promise.all([
        kcatProduce(cluster.bootstrap, topic.control, input.control),
        kcatProduce(cluster.bootstrap, topic.transform, input.transform),
        kcatProduce(cluster.bootstrap, topic.analysis, input.analysis)
      ])
      const produced = Object.fromEntries((await committedAndEnd()).reduce((m, p) => m.set(p.topic, (m.get(p.topic) ?? 0) + Number(p.end)), new Map<string, number>()))
      expect(produced, "one message per sample line").toEqual({
        [topic.transform]: input.transform.length,
        [topic.analysis]: input.analysis.length,
        [topic.control]: input.control.length
      })

      service = await startService(cluster.bootstrap)
      const running = service
      const jobIds = Object.keys(expected.jobs)
      const unmatchedWanted = Object.entries(expected.jobs).filter(([, j]) => (j.join_unmatched ?? 0) > 0)
      const finished = async () => {
        const control = (await kcatRead(cluster.bootstrap, topic.control)).filter((r) => r.headers["producer"] === APP).map(json)
        const ended = jobIds.every((id) => control.some((m) => m.job_id === id && m.step === "aggregation"))
        const dlq = await kcatRead(cluster.bootstrap, topic.dlq)
        const unmatched = countBy(dlq, (r) => (r.headers["dlq.error.type"] === "join_unmatched" ? r.headers["dlq.job_id"] : undefined))
        const joinsClosed = unmatchedWanted.every(([id, j]) => (unmatched[id] ?? 0) >= j.join_unmatched!)
        const offsets = await committedAndEnd()
        return ended && joinsClosed && offsets.every((o) => o.committed === o.end)
      }
      await within(90_000, "every job finished and every input committed", (async () => {
        while (!(await finished())) {
          if (running.child.exitCode !== null) throw new Error(`service exited early (${running.child.exitCode}):\n${running.output()}`)
          await new Promise((r) => setTimeout(r, 500))
        }
      })()).catch((error: unknown) => {
        throw new Error(`${String(error)}\nservice output:\n${running.output()}`)
      })

      // The HTTP surface of the running service.
      const http = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${running.httpPort}${path}`)
        return { status: res.status, body: await res.text() }
      }
      expect((await http("/healthz")).status).toBe(200)
      expect((await http("/readyz")).status).toBe(200)
      const plain = await http("/jobs/job-plain-3")
      expect(plain.status).toBe(200)
      expect(JSON.parse(plain.body)).toMatchObject({ outcome: "done", expected_count: 200, aggregate: { is_final: true } })
      expect((await http("/metrics")).body).toMatch(new RegExp(`review_aggregator_records_in_total\\{topic="${topic.transform}"\\} ${input.transform.length}`))

      const stopping = Date.now()
      running.child.kill("SIGTERM")
      const exit = await within(20_000, "service exit after SIGTERM", running.exited)
      expect(exit, `exit after SIGTERM; output:\n${running.output()}`).toEqual({ code: 0, signal: null })
      expect(Date.now() - stopping, "shutdown time").toBeLessThan(15_000)

      const offsets = await committedAndEnd()
      expect(offsets.filter((o) => o.committed !== o.end), "input partitions not fully committed").toEqual([])

      const [aggregates, dlq, control, rows] = await Promise.all(
        [topic.agg, topic.dlq, topic.control, topic.rows].map((t) => kcatRead(cluster.bootstrap, t))
      )
      const finals = finalAggregates(aggregates!)
      for (const [jobId, job] of Object.entries(expected.jobs)) {
        if (job.aggregate === undefined) continue
        expect(finals.get(jobId), `final aggregate of ${jobId}`).toEqual(sortKeys({ job_id: jobId, ...job.aggregate }))
      }
      const decodeFailures = countBy(dlq!, (r) => {
        const type = r.headers["dlq.error.type"]
        return type === "invalid_json" || type === "schema" ? type : undefined
      })
      expect(decodeFailures, "DLQ records per decode error type").toEqual(expected.dlq)
      const written = control!.filter((r) => r.headers["producer"] === APP).map(json)
      for (const [jobId, job] of Object.entries(expected.jobs)) {
        const last = written.filter((m) => m.job_id === jobId).at(-1)
        expect(last, `last control message of ${jobId}`).toMatchObject({
          step: job.terminal.step,
          status: job.terminal.status,
          expected_count: job.expected_count
        })
        if (job.terminal.actual_count !== undefined) expect(last.actual_count, `actual_count of ${jobId}`).toBe(job.terminal.actual_count)
        if (job.terminal.reason === "data quality") expect(last.error_message, `error_message of ${jobId}`).toMatch(/^data quality/)
        if (job.terminal.status === "done") expect(last.error_message, `error_message of ${jobId}`).toBeUndefined()
      }
      const rowKeys = rows!.map((r) => text(r.key))
      expect(new Set(rowKeys).size, "a join key was emitted twice").toBe(rowKeys.length)
      const rowsPerJob = countBy(rows!, (r) => json(r).job_id)
      const unmatchedPerJob = countBy(dlq!, (r) => (r.headers["dlq.error.type"] === "join_unmatched" ? r.headers["dlq.job_id"] : undefined))
      for (const [jobId, job] of Object.entries(expected.jobs)) {
        if (job.rows !== undefined) expect(rowsPerJob[jobId] ?? 0, `rows of ${jobId}`).toBe(job.rows)
        if (job.join_unmatched !== undefined) expect(unmatchedPerJob[jobId] ?? 0, `join_unmatched of ${jobId}`).toBe(job.join_unmatched)
      }
    }, 150_000)
  }
)
