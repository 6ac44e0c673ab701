/**
 * Issue 8: SIGTERM while the broker is frozen (SIGSTOP, requests hang unanswered) and a
 * batch is in flight ends the real service process within 15 s with exit 0, on the real
 * kafkajs adapter and its real retry behaviour; the abandoned batch is not committed, and
 * a restart replays it and finishes every job exactly.
 */
import { spawnSync } from "node:child_process"
import { Kafka, logLevel } from "kafkajs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { kcatRead } from "../support/Kcat.ts"
import { type MockKafkaCluster, mockClusterAvailable, startMockKafkaCluster, wireTestsRequired } from "../support/MockKafkaCluster.ts"
import { json } from "../support/Outputs.ts"
import {
  cleanJobs,
  committedAndEnd,
  inputTopics,
  produceJobs,
  recordsIn,
  type ServiceProcess,
  serviceTopics,
  sleep,
  startService,
  waitFor,
  within
} from "./ServiceProcess.ts"

const toolchain = mockClusterAvailable()
const kcatProbe = spawnSync("kcat", ["-V"], { encoding: "utf8" })
const unavailable: string | undefined = !toolchain.ok
  ? toolchain.reason
  : kcatProbe.error !== undefined || kcatProbe.status !== 0
    ? "kcat not on PATH; install with: apt-get install -y kcat"
    : undefined

if (unavailable !== undefined && wireTestsRequired()) {
  describe("bounded shutdown on the mock cluster", () => {
    it("has the mock Kafka toolchain and kcat (required by REQUIRE_WIRE_TESTS)", () => {
      const message = `REQUIRE_WIRE_TESTS is set but the bounded-shutdown wire test cannot run: ${unavailable}`
      console.error(message)
      expect.fail(message)
    })
  })
}

const APP = "shutdown-aggregator"
/** Long deadlines: only the shutdown is under test, no job may time out meanwhile. */
const env = { TIMEOUT_MS: "600000", WINDOW_INACTIVITY_MS: "2000", SHUTDOWN_TIMEOUT_MS: "5000" }

describe.skipIf(unavailable !== undefined)(
  `bounded shutdown on the mock cluster${unavailable !== undefined ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let cluster: MockKafkaCluster
    let kafka: Kafka
    const started: Array<ServiceProcess> = []

    beforeAll(async () => {
      cluster = await startMockKafkaCluster({ topics: serviceTopics(APP) })
      kafka = new Kafka({ clientId: "shutdown-check", brokers: [...cluster.brokers], logLevel: logLevel.NOTHING })
    })

    afterAll(async () => {
      for (const s of started) if (s.child.exitCode === null) s.child.kill("SIGKILL")
      await cluster?.stop()
    })

    it("SIGTERM with the broker frozen and a batch in flight exits 0 within 15 s; a restart replays the batch", async () => {
      const jobs = cleanJobs("shutdown-job", 4, 2_000)
      await produceJobs(cluster.bootstrap, jobs)

      // The freeze must catch a batch between being handled and being committed. It almost
      // always does (the service is busy with the backlog); when it caught a fetch instead,
      // the next attempt (a new process, resuming from the committed offsets) tries again.
      const attempts: Array<string> = []
      let inFlightCaught = false
      for (let attempt = 1; attempt <= 4 && !inFlightCaught; attempt++) {
        const before = await committedAndEnd(kafka, APP)
        if (before.committed === before.end) break
        const service = await startService(cluster.bootstrap, APP, env)
        started.push(service)
        await waitFor(60_000, "the service consuming the backlog", async () => (await recordsIn(service)) > 0, [service], 50)
        cluster.freeze()
        // Long enough for the write under way to be stuck in kafkajs's request retries.
        await sleep(1_500)
        const handled = await recordsIn(service)
        const stopping = Date.now()
        service.child.kill("SIGTERM")
        const exit = await within(30_000, "service exit after SIGTERM", service.exited).finally(() => cluster.thaw())
        const took = Date.now() - stopping
        expect(exit, `exit after SIGTERM; output:\n${service.output()}`).toEqual({ code: 0, signal: null })
        expect(took, `shutdown time with the broker frozen; output:\n${service.output()}`).toBeLessThan(15_000)

        const after = await committedAndEnd(kafka, APP)
        // Handled by this process but never committed: a batch was in flight when the broker froze.
        inFlightCaught = before.committed + handled > after.committed
        attempts.push(`attempt ${attempt}: committed ${before.committed} -> ${after.committed}, handled ${handled}, stopped in ${took} ms`)
        if (inFlightCaught) {
          expect(service.output(), "the service says it abandoned the write").toMatch(/stopping: write abandoned/)
        }
      }
      expect(inFlightCaught, `a batch in flight at the freeze in one of the attempts:\n${attempts.join("\n")}`).toBe(true)

      // The restart consumes what was abandoned (at-least-once) and every job ends exactly.
      const restarted = await startService(cluster.bootstrap, APP, env)
      started.push(restarted)
      const finals = async () => {
        const control = (await kcatRead(cluster.bootstrap, inputTopics.control)).filter((r) => r.headers["producer"] === APP).map(json)
        return new Map(control.filter((m) => m.step === "aggregation").map((m) => [m.job_id as string, m]))
      }
      await waitFor(120_000, "every job finished and every input committed", async () => {
        const offsets = await committedAndEnd(kafka, APP)
        return offsets.committed === offsets.end && (await finals()).size === jobs.length
      }, [restarted], 500)
      const ended = await finals()
      for (const job of jobs) {
        expect(ended.get(job.truth.jobId), `final status of ${job.truth.jobId}`).toMatchObject({
          step: "aggregation",
          status: "done",
          expected_count: job.truth.expected
        })
      }
      const aggregates = await kcatRead(cluster.bootstrap, "review-agg-by-job")
      for (const job of jobs) {
        const last = aggregates.map(json).filter((a) => a.job_id === job.truth.jobId && a.is_final === true).at(-1)
        expect(last?.transform_stats.total_reviews, `transform reviews of ${job.truth.jobId}`).toBe(job.truth.transform)
        expect(last?.analysis_stats.total_analyzed, `analysed reviews of ${job.truth.jobId}`).toBe(job.truth.analyzed)
      }
      restarted.child.kill("SIGTERM")
      expect(await within(20_000, "restarted service exit", restarted.exited)).toEqual({ code: 0, signal: null })
    }, 300_000)
  }
)
