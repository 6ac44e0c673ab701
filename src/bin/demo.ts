/**
 * `npm run demo`: generates five jobs of different character, runs them through the real
 * pipeline on the embedded broker with short timings, shows progress while waiting, then
 * prints each job's outcome and headline figures and writes every output topic to ./out/.
 * TIMEOUT_MS, WINDOW_INACTIVITY_MS, PUBLISH_INTERVAL_MS (and the rest) set in the
 * environment override the demo's timings.
 */
import { Clock, ConfigProvider, Effect, References } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { environment } from "../config/Environment.ts"
import { runCli } from "./CliMain.ts"
import { replay, replayLayer, type ReplayResult } from "../app/Replay.ts"
import { jobOutcome, summaryTable, writeTopics } from "../app/ReplayReport.ts"
import { generateJob, replayInputOf, type GeneratedJob, type GeneratorOptions } from "../app/ReviewGenerator.ts"
import { usable, type Job } from "../review/Job.ts"
import type { JobAggregate } from "../review/stats/JobAggregate.ts"

const outDir = "out"

// Short enough to watch a deadline pass, long enough that a busy machine (a CI worker
// running other suites) still reads every record in time: deadlines follow the wall
// clock, so a pipeline slowed down below them would time jobs out (issue 8).
const demoTimings = ConfigProvider.fromUnknown({ TIMEOUT_MS: "8000", WINDOW_INACTIVITY_MS: "3000", PUBLISH_INTERVAL_MS: "1000" })

const plans: ReadonlyArray<{ readonly about: string; readonly options: GeneratorOptions }> = [
  { about: "clean, one record per message", options: { jobId: "demo-clean", reviews: 3000, seed: 11 } },
  { about: "batch envelopes, duplicates, 2 lines that are not JSON", options: { jobId: "demo-batched", reviews: 5000, seed: 22, batchSize: 50, duplicateShare: 0.08, invalidJson: 2 } },
  { about: "4% undecodable transform records", options: { jobId: "demo-bad-data", reviews: 150, seed: 33, batchSize: 25, badShare: 0.04 } },
  { about: "6 reviews never analysed", options: { jobId: "demo-stalled", reviews: 200, seed: 44, missingAnalysis: 6 } },
  { about: "a crawl that found no reviews", options: { jobId: "demo-nothing", reviews: 0, seed: 55 } }
]

// ---- progress --------------------------------------------------------------

const stepCounts = (job: Job): string => {
  const expected = job.expected === undefined ? "?" : String(job.expected)
  return `transform ${usable(job, "transform")}/${expected}  analysis ${usable(job, "analysis")}/${expected}`
}

const bar = (job: Job | undefined, width: number): string => {
  const expected = job?.expected ?? 0
  const done = job === undefined ? 0 : job.stages.ended !== undefined || expected === 0
    ? 1
    : Math.min(1, (usable(job, "transform") + usable(job, "analysis")) / (2 * expected))
  const filled = Math.round(done * width)
  return "█".repeat(filled) + "░".repeat(width - filled)
}

const jobState = (job: Job | undefined): string =>
  job === undefined ? "waiting" : job.stages.ended !== undefined ? jobOutcome(job) : `${jobOutcome(job)}  ${stepCounts(job)}`

/** Redraws a block in place on a terminal; prints one compact line a second otherwise (CI logs). */
const progressReporter = (jobIds: ReadonlyArray<string>, startedAt: number) => {
  const tty = process.stdout.isTTY === true
  const idWidth = Math.max(...jobIds.map((id) => id.length))
  let drawnLines = 0
  let lastLine = -Infinity
  return (jobs: ReadonlyArray<Job>, final = false) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        const byId = new Map(jobs.map((j) => [j.jobId, j]))
        const elapsed = `${((now - startedAt) / 1000).toFixed(1)}s`
        if (tty) {
          const lines = [`elapsed ${elapsed}`, ...jobIds.map((id) => `  ${id.padEnd(idWidth)}  ${bar(byId.get(id), 20)}  ${jobState(byId.get(id))}`)]
          const up = drawnLines > 0 ? `\x1b[${drawnLines}A` : ""
          process.stdout.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(""))
          drawnLines = lines.length
        } else if (final || now - lastLine >= 1000) {
          lastLine = now
          console.log(`[${elapsed}] ${jobIds.map((id) => `${id.replace(/^demo-/, "")}: ${jobState(byId.get(id)).replace(/ {2}/g, " ")}`).join(" | ")}`)
        }
      }))
}

// ---- results ---------------------------------------------------------------

const utf8 = new TextDecoder()

const finalAggregates = (result: ReplayResult, topic: string): Map<string, JobAggregate> => {
  const out = new Map<string, JobAggregate>()
  for (const r of result.topics.get(topic) ?? []) {
    const aggregate = JSON.parse(utf8.decode(r.value ?? new Uint8Array())) as JobAggregate
    if (aggregate.is_final) out.set(aggregate.job_id, aggregate)
  }
  return out
}

const pct = (n: number) => `${n}%`
const stars = (n: number) => n.toFixed(2)

const headline = (a: JobAggregate): ReadonlyArray<string> => {
  const t = a.transform_stats
  const s = a.analysis_stats.all_sentiment
  const keywords = t.keyword_analysis.slice(0, 3).map((k) => {
    const top = k.all_tags[0]
    return top === undefined ? k.keyword : `${k.keyword} (${top.tag} ${pct(top.percentage)})`
  })
  return [
    `avg rating ${stars(t.avg_rating)}  trial ${stars(t.avg_rating_coupang_trial)}  regular ${stars(t.avg_rating_regular)}  (${t.total_reviews} reviews, ${t.coupang_trial_reviews} trial, ${t.empty_reviews} empty)`,
    `sentiment  positive ${pct(s.positivePct)}  negative ${pct(s.negativePct)}  neutral ${pct(s.neutralPct)}  (${a.analysis_stats.total_analyzed} analysed)`,
    `keywords   ${keywords.length === 0 ? "-" : keywords.join(", ")}`
  ]
}

/** What differs from what the generator planted; empty when the pipeline got every job right. */
const mismatches = (result: ReplayResult, generated: ReadonlyArray<GeneratedJob>, aggregates: Map<string, JobAggregate>): ReadonlyArray<string> =>
  generated.flatMap(({ truth }) => {
    const job = result.jobs.find((j) => j.jobId === truth.jobId)
    const planned = truth.outcome.status === "done" ? "done" : `${truth.outcome.step} ${truth.outcome.status}`
    if (job === undefined || jobOutcome(job) !== planned) return [`${truth.jobId}: planned ${planned}, got ${job === undefined ? "nothing" : jobOutcome(job)}`]
    if (job.quality.transform.invalid !== truth.invalid.transform || job.quality.analysis.invalid !== truth.invalid.analysis) {
      return [`${truth.jobId}: planted ${truth.invalid.transform}/${truth.invalid.analysis} invalid transform/analysis records, counted ${job.quality.transform.invalid}/${job.quality.analysis.invalid}`]
    }
    const a = aggregates.get(truth.jobId)
    if (planned === "done" && (a?.transform_stats.total_reviews !== truth.transform || a.analysis_stats.total_analyzed !== truth.analyzed)) {
      return [`${truth.jobId}: planned ${truth.transform}/${truth.analyzed} reviews/analysed, aggregate says ${a?.transform_stats.total_reviews}/${a?.analysis_stats.total_analyzed}`]
    }
    return []
  })

const dlqSummary = (result: ReplayResult, topic: string): string => {
  const counts = new Map<string, number>()
  for (const r of result.topics.get(topic) ?? []) {
    const type = r.headers["dlq.error.type"] ?? "?"
    counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return counts.size === 0 ? "none" : [...counts].map(([type, n]) => `${type} ${n}`).join(", ")
}

// ---- program ---------------------------------------------------------------

const program = Effect.gen(function*() {
  const config = yield* AppConfig
  const generated = plans.map((p) => generateJob(p.options))
  console.log(`review-aggregator demo: ${plans.length} jobs on the embedded broker (TIMEOUT_MS=${config.timeoutMs}, WINDOW_INACTIVITY_MS=${config.windowInactivityMs}, PUBLISH_INTERVAL_MS=${config.publishIntervalMs})`)
  for (const [i, p] of plans.entries()) {
    const m = generated[i]!.truth.messages
    console.log(`  ${p.options.jobId.padEnd(14)} ${String(p.options.reviews).padStart(4)} reviews, ${m.transform} transform + ${m.analysis} analysis messages: ${p.about}`)
  }
  console.log("")

  const startedAt = yield* Clock.currentTimeMillis
  const report = progressReporter(plans.map((p) => p.options.jobId), startedAt)
  const maxWaitMs = 3 * config.timeoutMs + 2 * config.windowInactivityMs + 10_000
  const result = yield* replay(replayInputOf(generated), { maxWaitMs, onProgress: (jobs) => report(jobs) })
  yield* report(result.jobs, true)

  const aggregates = finalAggregates(result, config.aggregateTopic)
  console.log(`\n${summaryTable(result)}\n`)
  for (const { options } of plans) {
    const a = aggregates.get(options.jobId)
    const job = result.jobs.find((j) => j.jobId === options.jobId)
    if (a === undefined || job === undefined || jobOutcome(job) !== "done" || a.transform_stats.total_reviews === 0) continue
    console.log(`${options.jobId}\n${headline(a).map((l) => `  ${l}`).join("\n")}`)
  }
  console.log(`\ndead letters: ${dlqSummary(result, config.dlqTopic)}`)
  const written = writeTopics(outDir, result)
  console.log(`wrote ${written.map((w) => `${w.file} (${w.records})`).join(", ")}`)
  console.log(`finished in ${(result.elapsedMs / 1000).toFixed(1)}s`)

  if (!result.completed) return yield* Effect.fail(new Error(`jobs still running after ${maxWaitMs} ms`))
  const wrong = mismatches(result, generated, aggregates)
  if (wrong.length > 0) return yield* Effect.fail(new Error(`the pipeline disagrees with the generator:\n  ${wrong.join("\n  ")}`))
  console.log(`every outcome and count is what the generator planted`)
}).pipe(
  // The environment first (an empty variable is still an error), then the demo's timings.
  Effect.provide(replayLayer(AppConfig.layerFrom(() => ConfigProvider.orElse(environment(), demoTimings)))),
  // Info logs (e.g. "restored 0 jobs") would tear the in-place progress display.
  Effect.provideService(References.MinimumLogLevel, "Warn")
)

runCli(program)
