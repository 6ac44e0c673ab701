/** SPEC 8's HTTP surface on a live server: health, readiness, job queries, metrics, status page. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AggregatorHandle } from "../../src/app/AggregatorHandle.ts"
import * as HttpApi from "../../src/http/HttpApi.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { analysisOf, collectionDone, pipelineLayer, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"

const freePort = () => 20_000 + Math.floor(Math.random() * 20_000)
let port = freePort()
const get = (path: string) =>
  Effect.promise(async () => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`)
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() }
  })

const server = () => HttpApi.layer.pipe(Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: port = freePort() })))

describe("HTTP surface", () => {
  it.live("answers health at once and readiness, jobs and metrics once state is restored", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("h1", 1)])
      yield* send("transform", [transformOf("h1", "r1"), { job_id: "h1", review_id: "bad", rating: "x" }])
      yield* send("analysis", [analysisOf("h1", "r1")])
      yield* settle
      expect((yield* get("/healthz")).status).toBe(200)
      expect((yield* get("/readyz")).status).toBe(200)

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
      expect(JSON.parse((yield* get("/jobs")).body).map((j: any) => j.job_id)).toEqual(["h1"])

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
    }).pipe(Effect.provide(Layer.merge(pipelineLayer(), server()).pipe(Layer.provideMerge(AggregatorHandle.layer)))))

  it.live("says not ready while the aggregator has not restored its state", () =>
    Effect.gen(function*() {
      expect((yield* get("/healthz")).status).toBe(200)
      expect((yield* get("/readyz")).status).toBe(503)
      expect((yield* get("/jobs/x")).status).toBe(503)
    }).pipe(Effect.provide(server().pipe(Layer.provideMerge(AggregatorHandle.layer)))))
})
