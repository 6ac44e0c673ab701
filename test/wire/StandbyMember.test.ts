/**
 * Issue 8: two service processes with one APPLICATION_ID on the mock cluster never split
 * the partitions. The first holds them all; the second says in its log that it stands by
 * and consumes nothing; when the first is killed (SIGKILL) mid-run, the second takes over
 * after the session timeout, restores the state the first wrote, and ends every job exactly.
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
  describe("one active member per APPLICATION_ID on the mock cluster", () => {
    it("has the mock Kafka toolchain and kcat (required by REQUIRE_WIRE_TESTS)", () => {
      const message = `REQUIRE_WIRE_TESTS is set but the standby wire test cannot run: ${unavailable}`
      console.error(message)
      expect.fail(message)
    })
  })
}

const APP = "standby-aggregator"
/** Long deadlines: the takeover (session timeout, rejoin) must not time jobs out here. */
const env = { TIMEOUT_MS: "600000", WINDOW_INACTIVITY_MS: "2000" }
const standbyLine = /standby: another member of consumer group 'standby-aggregator' holds every partition/
const activeLine = /active: consuming all 7 partitions of consumer group 'standby-aggregator'/

describe.skipIf(unavailable !== undefined)(
  `one active member per APPLICATION_ID on the mock cluster${unavailable !== undefined ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let cluster: MockKafkaCluster
    let kafka: Kafka
    const started: Array<ServiceProcess> = []

    beforeAll(async () => {
      cluster = await startMockKafkaCluster({ topics: serviceTopics(APP) })
      kafka = new Kafka({ clientId: "standby-check", brokers: [...cluster.brokers], logLevel: logLevel.NOTHING })
    })

    afterAll(async () => {
      for (const s of started) if (s.child.exitCode === null) s.child.kill("SIGKILL")
      await cluster?.stop()
    })

    it("a second instance stands by, consuming nothing, and takes over every job when the first is killed", async () => {
      const first = await startService(cluster.bootstrap, APP, env)
      started.push(first)
      await waitFor(60_000, "the first instance holding every partition", () => activeLine.test(first.output()), [first])
      const second = await startService(cluster.bootstrap, APP, env)
      started.push(second)
      // The mock's rebalance takes a session timeout; a loaded machine makes it longer.
      await waitFor(150_000, "the second instance saying it stands by", () => standbyLine.test(second.output()), [first, second])
      expect(first.output(), "the first instance never stands by").not.toMatch(standbyLine)

      const jobs = cleanJobs("standby-job", 3, 1_500)
      await produceJobs(cluster.bootstrap, jobs)
      await waitFor(60_000, "the first instance consuming", async () => (await recordsIn(first)) > 0, [first, second], 100)
      const beforeKill = await committedAndEnd(kafka, APP)
      expect(await recordsIn(second), "records consumed by the standby while the first instance is active").toBe(0)
      expect(second.output(), "the standby restores no state before it takes over").not.toMatch(/restored \d+ jobs/)
      first.child.kill("SIGKILL")
      await first.exited
      expect(beforeKill.committed, "the kill leaves work for the standby").toBeLessThan(beforeKill.end)

      await waitFor(120_000, "the standby taking over", () => activeLine.test(second.output()), [second])
      const finals = async () => {
        const control = (await kcatRead(cluster.bootstrap, inputTopics.control)).filter((r) => r.headers["producer"] === APP).map(json)
        return new Map(control.filter((m) => m.step === "aggregation").map((m) => [m.job_id as string, m]))
      }
      await waitFor(120_000, "every job finished and every input committed by the second instance", async () => {
        const offsets = await committedAndEnd(kafka, APP)
        return offsets.committed === offsets.end && (await finals()).size === jobs.length
      }, [second], 500)
      expect(await recordsIn(second), "records the second instance consumed after taking over").toBeGreaterThan(0)

      const ended = await finals()
      const aggregates = (await kcatRead(cluster.bootstrap, "review-agg-by-job")).map(json)
      for (const job of jobs) {
        expect(ended.get(job.truth.jobId), `final status of ${job.truth.jobId}`).toMatchObject({
          step: "aggregation",
          status: "done",
          expected_count: job.truth.expected
        })
        const last = aggregates.filter((a) => a.job_id === job.truth.jobId && a.is_final === true).at(-1)
        expect(last?.transform_stats.total_reviews, `transform reviews of ${job.truth.jobId}`).toBe(job.truth.transform)
        expect(last?.analysis_stats.total_analyzed, `analysed reviews of ${job.truth.jobId}`).toBe(job.truth.analyzed)
      }
      second.child.kill("SIGTERM")
      expect(await within(20_000, "second instance exit", second.exited)).toEqual({ code: 0, signal: null })
    }, 480_000)
  }
)
