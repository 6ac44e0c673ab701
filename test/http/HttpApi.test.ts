/** SPEC 8's HTTP surface on a live server: health, readiness, job queries (paged), metrics, status page. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AggregatorHandle } from "../../src/app/AggregatorHandle.ts"
import * as HttpApi from "../../src/http/HttpApi.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { KafkaHealth } from "../../src/observability/KafkaHealth.ts"
import { analysisOf, collectionDone, pipelineLayer, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"
import { randomListenPort } from "../support/ListenPort.ts"

const freePort = randomListenPort
let port = freePort()
const get = (path: string) =>
  Effect.promise(async () => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() }
  })

const server = () => HttpApi.layer.pipe(Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: port = freePort() })))

/** The pipeline on the embedded broker with the HTTP surface and the Kafka probe on it. */
const running = () =>
  Layer.merge(server(), KafkaHealth.probing).pipe(
    Layer.provideMerge(pipelineLayer()),
    Layer.provideMerge(KafkaHealth.layer),
    Layer.provideMerge(AggregatorHandle.layer)
  )

/** Polls `path` until it answers `status` (the Kafka probe runs in its own fiber). */
const statusBecomes = (path: string, status: number) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 100; attempt++) {
      if ((yield* get(path)).status === status) return true
      yield* Effect.sleep("50 millis")
    }
    return false
  })

describe("HTTP surface", () => {
  it.live("answers health at once and readiness, jobs and metrics once state is restored", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("h1", 1)])
      yield* send("transform", [transformOf("h1", "r1"), { job_id: "h1", review_id: "bad", rating: "x" }])
      yield* send("analysis", [analysisOf("h1", "r1")])
      yield* settle
      expect((yield* get("/healthz")).status).toBe(200)
      expect(yield* statusBecomes("/readyz", 200), "ready once restored and Kafka answers").toBe(true)
      expect(JSON.parse((yield* get("/readyz")).body)).toMatchObject({ status: "ready", state: "restored", kafka: "reachable" })

      const job = yield* get("/jobs/h1")
      expect(job.status).toBe(200)
      const view = JSON.parse(job.body)
      expect(view).toMatchObject({
        job_id: "h1",
        outcome: "transform failed",
        expected_count: 1,
        stages: { collection: { status: "done" }, transform: { status: "failed" } },
        counts: { transform: { usable: 1, invalid: 1 } },
        aggregate: { job_id: "h1", is_final: true, transform_stats: { total_reviews: 1 } }
      })
      expect((yield* get("/jobs/nope")).status).toBe(404)
      expect(JSON.parse((yield* get("/jobs")).body)).toMatchObject({ total: 1, running: 0, offset: 0, jobs: [{ job_id: "h1" }] })

      const page = yield* get("/")
      expect(page.type).toMatch(/text\/html/)
      expect(page.body).toContain("h1")

      const metrics = yield* get("/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.body).toMatch(/review_aggregator_records_in_total\{topic="transform"\} 2/)
      expect(metrics.body).toMatch(/review_aggregator_dlq_records_total\{error_type="schema"\} 1/)
      expect(metrics.body).toMatch(/review_aggregator_jobs_finished_total\{(step="transform",status="failed"|status="failed",step="transform")\} 1/)
      expect(metrics.body).toMatch(/review_aggregator_record_to_aggregate_latency_seconds_bucket/)
      // Prometheus's own linter on the exposition text (Debian `prometheus`; .ci/run installs it).
      const promtool = spawnSync("promtool", ["--version"])
      if (promtool.status !== 0 && process.env["CI"] !== undefined) expect.fail("promtool is not installed; .ci/run installs prometheus")
      if (promtool.status === 0) {
        const file = join(mkdtempSync(join(tmpdir(), "metrics-")), "metrics.txt")
        writeFileSync(file, metrics.body)
        const check = spawnSync("sh", ["-c", `promtool check metrics < ${file}`], { encoding: "utf8" })
        expect(check.status, `promtool check metrics: ${check.stdout}${check.stderr}`).toBe(0)
      }
    }).pipe(Effect.provide(running())))

  it.live("pages /jobs in the console's order: running jobs first, then the most recently finished", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("old-done", 1)])
      yield* send("transform", [transformOf("old-done", "r1")])
      yield* send("analysis", [analysisOf("old-done", "r1")])
      yield* settle
      yield* Effect.sleep("20 millis")
      yield* send("control", [collectionDone("new-done", 1)])
      yield* send("transform", [transformOf("new-done", "r1")])
      yield* send("analysis", [analysisOf("new-done", "r1")])
      yield* settle
      yield* send("control", [collectionDone("running", 3)])
      yield* send("transform", [transformOf("running", "r1")])
      yield* settle

      const all = JSON.parse((yield* get("/jobs")).body)
      expect(all.total).toBe(3)
      expect(all.running).toBe(1)
      expect(all.jobs.map((j: any) => j.job_id), "listing order").toEqual(["running", "new-done", "old-done"])
      const second = JSON.parse((yield* get("/jobs?limit=1&offset=1")).body)
      expect(second).toMatchObject({ total: 3, limit: 1, offset: 1 })
      expect(second.jobs.map((j: any) => j.job_id)).toEqual(["new-done"])
      expect(JSON.parse((yield* get("/jobs?offset=5")).body).jobs).toEqual([])
      const bad = yield* get("/jobs?limit=-1")
      expect(bad.status).toBe(400)
      expect(bad.body).toMatch(/limit/)
    }).pipe(Effect.provide(running())))

  it.live("says not ready while the aggregator has not restored its state, nor before Kafka answers", () =>
    Effect.gen(function*() {
      expect((yield* get("/healthz")).status).toBe(200)
      const ready = yield* get("/readyz")
      expect(ready.status).toBe(503)
      expect(JSON.parse(ready.body)).toMatchObject({ status: "not ready", state: "restoring", kafka: "unreachable" })
      expect((yield* get("/jobs/x")).status).toBe(503)
      expect((yield* get("/")).body).toContain("restoring state")
    }).pipe(Effect.provide(server().pipe(Layer.provideMerge(KafkaHealth.layer), Layer.provideMerge(AggregatorHandle.layer)))))

  it.live("names HTTP_PORT and the port when the port is taken", () =>
    Effect.gen(function*() {
      const taken = port
      const second = HttpApi.layer.pipe(Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: taken })), Layer.provide(KafkaHealth.layer), Layer.provide(AggregatorHandle.layer))
      const failure = yield* Effect.flip(Layer.build(Layer.fresh(second)))
      expect(failure.message).toBe(`HTTP_PORT ${taken} is already in use by another process; stop it or set HTTP_PORT to a free port`)
    }).pipe(Effect.provide(server().pipe(Layer.provideMerge(KafkaHealth.layer), Layer.provideMerge(AggregatorHandle.layer)))))
})
