/**
 * What the logs say during a run, in the JSON format the container uses: one line per job
 * outcome (done, failed, timeout) with reason and counts, dead letters summarized, and
 * nothing for probes, scrapes or the status page.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger } from "effect"
import { AggregatorHandle } from "../../src/app/AggregatorHandle.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as HttpApi from "../../src/http/HttpApi.ts"
import { KafkaHealth } from "../../src/observability/KafkaHealth.ts"
import * as Logging from "../../src/observability/Logging.ts"
import { makeOperationsLog, OperationsLogEnabled } from "../../src/observability/OperationsLog.ts"
import { advance, analysisOf, collectionDone, pipelineLayer, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"
import { randomListenPort } from "../support/ListenPort.ts"

const port = randomListenPort()
const get = (path: string) => Effect.promise(() => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.text()))

/** Every log line as the JSON logger writes it. */
const captured: Array<string> = []
const capture = Layer.merge(
  Logger.layer([Logger.map(Logging.jsonFormat, (line) => void captured.push(line))]),
  Layer.succeed(OperationsLogEnabled, true)
)

const service = Layer.merge(
  HttpApi.layer.pipe(Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: port }))),
  KafkaHealth.probing
).pipe(
  Layer.provideMerge(pipelineLayer()),
  Layer.provideMerge(KafkaHealth.layer),
  Layer.provideMerge(AggregatorHandle.layer),
  Layer.provide(capture)
)

describe("operations log", () => {
  it.effect("writes one JSON line per job outcome, summarizes dead letters, and nothing per probe or scrape", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("ok-job", 1), collectionDone("bad-job", 1), collectionDone("slow-job", 5)])
      yield* send("transform", [transformOf("ok-job", "r1"), transformOf("bad-job", "r1"), { job_id: "bad-job", review_id: "r2", rating: "x" }, transformOf("slow-job", "r1")])
      yield* send("analysis", [analysisOf("ok-job", "r1"), analysisOf("bad-job", "r1")])
      yield* settle
      for (let i = 0; i < 3; i++) {
        for (const path of ["/healthz", "/readyz", "/metrics", "/", "/?offset=0"]) yield* get(path)
      }
      yield* advance(11_000) // past TIMEOUT_MS (10 s): slow-job times out
      yield* get("/metrics")

      const lines = captured.map((line) => {
        expect(line, "one line per entry").not.toContain("\n")
        return JSON.parse(line) as Record<string, unknown>
      })
      for (const line of lines) expect(Object.keys(line).slice(0, 3), "fixed fields first").toEqual(["timestamp", "level", "message"])

      const outcomes = lines.filter((l) => l["event"] === "job_finished")
      expect(outcomes.map((l) => l["job_id"]).sort(), "one line per finished job").toEqual(["bad-job", "ok-job", "slow-job"])
      expect(outcomes.find((l) => l["job_id"] === "ok-job")).toMatchObject({ level: "INFO", status: "done", step: "aggregation", expected_count: 1, actual_count: 1 })
      expect(outcomes.find((l) => l["job_id"] === "bad-job")).toMatchObject({ level: "WARN", status: "failed", step: "transform", expected_count: 1, actual_count: 1 })
      expect(String(outcomes.find((l) => l["job_id"] === "bad-job")!["reason"])).toMatch(/data quality/)
      expect(outcomes.find((l) => l["job_id"] === "slow-job")).toMatchObject({ level: "WARN", status: "timeout", step: "transform", expected_count: 5, actual_count: 1 })
      expect(outcomes.find((l) => l["job_id"] === "slow-job")!["reason"], "a timeout says why").toEqual(expect.any(String))

      const dlq = lines.filter((l) => l["event"] === "dead_letters")
      expect(dlq.length, "dead letters summarized").toBeGreaterThanOrEqual(1)
      expect(dlq[0]).toMatchObject({ level: "WARN", by_source_topic: { [testTopics.transformTopic]: { schema: 1 } } })

      const requestLogs = captured.filter((line) => /healthz|readyz|metrics|"http\.url":"\/"/.test(line))
      expect(requestLogs, "probe, scrape and status page requests are not logged").toEqual([])
    }).pipe(Effect.provide(service)))

  it.effect("rate-limits dead-letter summaries to one line per interval", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const log = makeOperationsLog(60_000)
      const dead = (type: string, topic: string) => ({ topic: "dlq", key: null, value: "x", headers: { "dlq.error.type": type, "dlq.source.topic": topic } })
      const observe = (now: number, outputs: ReadonlyArray<ReturnType<typeof dead>>) =>
        log({ now, outputs, dlqTopic: "dlq", finished: [] }).pipe(
          Effect.provide(Logger.layer([Logger.map(Logging.jsonFormat, (l) => void lines.push(l))])),
          Effect.provideService(OperationsLogEnabled, true)
        )
      yield* observe(1_000, [dead("schema", "a")])
      yield* observe(2_000, [dead("schema", "a"), dead("invalid_json", "b")])
      yield* observe(30_000, [dead("schema", "a")])
      expect(lines.length, "first at once, then nothing within the interval").toBe(1)
      yield* observe(61_000, [])
      expect(lines.length).toBe(2)
      expect(JSON.parse(lines[1]!)).toMatchObject({ total: 3, by_source_topic: { a: { schema: 2 }, b: { invalid_json: 1 } }, window_seconds: 60 })
      yield* observe(200_000, [])
      expect(lines.length, "no line without dead letters").toBe(2)
    }))

  it.effect("stays silent outside the service (replay and demo keep their own output)", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const finished = [{ jobId: "j", step: "aggregation", status: "done", reason: undefined, expected: 1, actual: 1 }]
      yield* makeOperationsLog()({ now: 0, outputs: [], dlqTopic: "dlq", finished }).pipe(
        Effect.provide(Logger.layer([Logger.map(Logging.jsonFormat, (l) => void lines.push(l))]))
      )
      expect(lines).toEqual([])
    }))
})

describe("log settings", () => {
  const settings = (env: Record<string, string>) =>
    Effect.result(Effect.provide(Logging.LogSettings, ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))

  it.effect("read LOG_FORMAT and LOG_LEVEL and name the variable on a bad value", () =>
    Effect.gen(function*() {
      const good = yield* settings({ LOG_FORMAT: "pretty", LOG_LEVEL: "debug" })
      expect(good._tag === "Success" && good.success).toEqual({ format: "pretty", level: "debug" })
      const badFormat = yield* settings({ LOG_FORMAT: "xml" })
      expect(badFormat._tag === "Failure" && String(badFormat.failure)).toMatch(/LOG_FORMAT/)
      const badLevel = yield* settings({ LOG_LEVEL: "loud" })
      expect(badLevel._tag === "Failure" && String(badLevel.failure)).toMatch(/LOG_LEVEL/)
    }))
})
