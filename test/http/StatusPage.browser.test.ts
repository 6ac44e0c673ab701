/**
 * The operator console in a real browser (headless Chromium) during a run on the embedded
 * broker: jobs sorted running-first, per-stage progress counts and deadlines, failure
 * reasons in colour, Kafka and restore state, and the page refreshing itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import { AggregatorHandle } from "../../src/app/AggregatorHandle.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as HttpApi from "../../src/http/HttpApi.ts"
import { KafkaHealth } from "../../src/observability/KafkaHealth.ts"
import { wireTestsRequired } from "../support/MockKafkaCluster.ts"
import { analysisOf, collectionDone, pipelineLayer, send, settle, testTopics, transformOf } from "../support/Pipeline.ts"
import { randomListenPort } from "../support/ListenPort.ts"

const chromiumPath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const unavailable = existsSync(chromiumPath) ? undefined : `no Chromium at ${chromiumPath}; install with: apt-get install -y chromium`

if (unavailable !== undefined && wireTestsRequired()) {
  describe("status page in a browser", () => {
    it("has Chromium (required in CI)", () => {
      expect.fail(unavailable)
    })
  })
}

const port = randomListenPort()

const service = Layer.merge(
  HttpApi.layer.pipe(Layer.provide(AppConfig.layerWith({ ...testTopics, httpPort: port }))),
  KafkaHealth.probing
).pipe(
  Layer.provideMerge(pipelineLayer({ timeoutMs: 600_000 })),
  Layer.provideMerge(KafkaHealth.layer),
  Layer.provideMerge(AggregatorHandle.layer)
)

/** A fresh headless Chromium profile for the test's lifetime. */
const browser = Effect.acquireRelease(
  Effect.promise(async () => {
    const profile = mkdtempSync(join(tmpdir(), "chromium-profile-"))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"
      ],
      viewport: { width: 1400, height: 800 }
    })
    return { context, profile }
  }),
  ({ context, profile }: { context: BrowserContext; profile: string }) =>
    Effect.promise(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
)

const waitReady = Effect.gen(function*() {
  for (let i = 0; i < 100; i++) {
    const status = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status))
    if (status === 200) return
    yield* Effect.sleep("50 millis")
  }
  throw new Error("service not ready")
})

describe.skipIf(unavailable !== undefined)(`status page in a browser${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`, () => {
  it.live("shows running jobs first, progress per stage, failure reasons and Kafka state, and refreshes itself", () =>
    Effect.gen(function*() {
      yield* send("control", [collectionDone("done-job", 1)])
      yield* send("transform", [transformOf("done-job", "r1")])
      yield* send("analysis", [analysisOf("done-job", "r1")])
      yield* settle
      yield* send("control", [collectionDone("quality-job", 1)])
      yield* send("transform", [transformOf("quality-job", "r1"), { job_id: "quality-job", review_id: "r2", rating: "x" }])
      yield* send("analysis", [analysisOf("quality-job", "r1")])
      yield* settle
      yield* send("control", [{ job_id: "blocked-job", step: "collection", status: "failed", error_message: "crawler blocked by the shop" }])
      yield* send("control", [collectionDone("running-job", 4)])
      yield* send("transform", [transformOf("running-job", "r1"), transformOf("running-job", "r2")])
      yield* settle
      yield* waitReady

      const { context } = yield* browser
      const page = yield* Effect.promise(() => context.newPage())
      yield* Effect.promise(() => page.goto(`http://127.0.0.1:${port}/`))

      const order = yield* Effect.promise(() => page.locator("#jobs tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-job-id"))))
      expect(order, "running first, then most recently finished").toEqual(["running-job", "blocked-job", "quality-job", "done-job"])

      const text = (selector: string) => Effect.promise(() => page.locator(selector).innerText())
      expect(yield* text(`tr[data-job-id="running-job"] td[data-stage="transform"] .counts`), "transform progress of the running job").toBe("2/4")
      expect(yield* text(`tr[data-job-id="running-job"] td[data-stage="transform"] .deadline`)).toMatch(/^deadline in \d+m/)
      expect(yield* text(`tr[data-job-id="running-job"] td[data-stage="collection"] .counts`), "expected count").toBe("4")
      expect(yield* text(`tr[data-job-id="done-job"] td[data-stage="analysis"] .counts`)).toBe("1/1")
      expect(yield* text(`tr[data-job-id="quality-job"] .reason`)).toMatch(/^data quality: 1 invalid/)
      expect(yield* text(`tr[data-job-id="blocked-job"] .reason`)).toBe("crawler blocked by the shop")
      expect(yield* text(`tr[data-job-id="blocked-job"] .outcome`)).toBe("collection failed")
      // Browser-side expressions as strings: the test is compiled without the DOM library.
      const style = (selector: string, property: "color" | "backgroundColor") =>
        Effect.promise(() => page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`))
      const failedColour = yield* style(`tr[data-job-id="quality-job"] .outcome`, "color")
      expect(failedColour, "failures in red").toBe("rgb(207, 34, 46)")
      const doneBar = yield* style(`tr[data-job-id="done-job"] td[data-stage="aggregation"] .bar > div`, "backgroundColor")
      expect(doneBar, "done stages in green").toBe("rgb(26, 127, 55)")

      expect(yield* text("#readiness")).toBe("ready")
      expect(yield* text("#restore")).toBe("state restored")
      expect(yield* text("#kafka")).toMatch(/^Kafka reachable/)
      expect(yield* text("#lag")).toMatch(/consumer lag 0/)
      expect(yield* text("#job-counts")).toMatch(/1 running.*4 jobs in state/s)
      expect(yield* text(".pager")).toMatch(/jobs 1–4 of 4/)

      yield* Effect.promise(() => page.screenshot({ path: join(tmpdir(), "status-page.png"), fullPage: true }))

      // New records arrive: the open page shows them without a reload.
      yield* send("transform", [transformOf("running-job", "r3")])
      yield* settle
      yield* Effect.promise(() =>
        page.waitForFunction(
          `document.querySelector('tr[data-job-id="running-job"] td[data-stage="transform"] .counts')?.textContent === "3/4"`,
          undefined,
          { timeout: 20_000 }
        ))
    }).pipe(Effect.provide(service)), 120_000)
})
