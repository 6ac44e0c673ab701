/**
 * Readiness follows the brokers: the real service process against the mock Kafka
 * cluster turns /readyz 503 within 10 s of the cluster freezing (SIGSTOP on the mock's
 * launcher: connections stay open, nothing answers) and 200 again once it resumes.
 * The same run checks the container log format: every stdout line is one JSON object,
 * one line per job outcome, none per probe or scrape.
 */
import { Partitioners } from "kafkajs"
import { expect, it } from "vitest"
import { sleep, waitFor } from "../support/ServiceProcess.ts"
import { serviceCluster, serviceTopicNames } from "./ServiceOnMockCluster.ts"
import { describeWire } from "./WireSuite.ts"

const APP = "readiness-aggregator"
const topic = serviceTopicNames(APP)

describeWire("readiness on the mock cluster", { what: "the readiness wire test", kcat: false }, () => {
  const wire = serviceCluster(APP, { onePartition: true })

  it("turns /readyz 503 within 10 s of the brokers freezing and 200 once they answer again, logging JSON lines", async () => {
    // Not a terminal and no LOG_FORMAT: the format the container gets.
    const service = await wire.start({ WINDOW_INACTIVITY_MS: "1000", LOG_LEVEL: "info", LOG_FORMAT: undefined })
    const readyz = async () => {
      const res = await service.get("/readyz")
      return { status: res.status, body: JSON.parse(res.body) as Record<string, unknown> }
    }

    await service.waitUntilReady(60_000)

    const producer = wire.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
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
    const jobs = async () => (JSON.parse((await service.get("/jobs")).body) as { jobs: ReadonlyArray<{ job_id: string; outcome: string }> }).jobs
    await waitFor("both jobs finished", 60_000, async () => {
      const listed = await jobs()
      return listed.length === 2 && listed.every((j) => !j.outcome.startsWith("running"))
    }, { watching: [service] })

    // Probes and scrapes while running: none of them may be logged.
    for (let i = 0; i < 5; i++) {
      for (const path of ["/healthz", "/readyz", "/metrics", "/"]) await service.get(path)
    }

    wire.cluster.freeze()
    const unready = await waitFor("503 after the brokers froze", 30_000, () => service.answers("/readyz", 503), { watching: [service] })
    expect(unready, "milliseconds from freezing the brokers to /readyz 503").toBeLessThan(10_000)
    expect((await readyz()).body).toMatchObject({ status: "not ready", state: "restored", kafka: "unreachable" })
    // An outage lasts a while: stay frozen a little longer, still unready.
    await sleep(2_000)
    expect((await readyz()).status, "still 503 while the brokers stay frozen").toBe(503)

    wire.cluster.thaw()
    await waitFor("200 after the brokers resumed", 60_000, () => service.answers("/readyz"), { watching: [service] })
    expect((await readyz()).body).toMatchObject({ status: "ready", kafka: "reachable" })

    const { exit } = await service.stop("SIGTERM", 30_000)
    expect(exit.code, `exit after SIGTERM\n${service.output()}`).toBe(0)

    const lines = service.lines().map((line) => {
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
    expect(service.stdout(), "probes, scrapes and the status page are not logged").not.toMatch(/healthz|readyz|"http\.url":"\/(metrics)?"/)
    expect(lines.some((l) => l["level"] === "WARN" && String(l["message"]).startsWith("Kafka unreachable")), "losing Kafka is logged").toBe(true)
    expect(lines.some((l) => l["message"] === "Kafka reachable again"), "regaining Kafka is logged").toBe(true)
  }, 240_000)
})
