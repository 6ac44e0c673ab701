/**
 * Benchmark: one job of N reviews (default 1,000,000) through the review task (decode ->
 * JobBook -> stores -> changelog), in batches of 500 transform + 500 analysis records, in
 * process without Kafka. Prints throughput, what the task writes per review (outputs,
 * changelog records and bytes) and heap figures: baseline, peak while the job runs, after
 * it finishes (per-review state released, fingerprints kept for late-record detection)
 * and after retention eviction.
 *
 *   npm run bench -- [reviews]      (runs node with --expose-gc)
 */
import { TaskHarness } from "../src/kernel/testing/TaskHarness.ts"
import type { OutgoingRecord } from "../src/kernel/kafka/KafkaPort.ts"
import type { JobBook } from "../src/review/JobBook.ts"
import { reviewTask } from "../src/review/ReviewTask.ts"

const refuse = (problem: string): never => {
  console.error(`error: ${problem}\nusage: npm run bench -- [reviews]   (a positive integer, default 1000000)`)
  return process.exit(1)
}
if (process.argv.length > 3) refuse(`expected at most one argument, got ${process.argv.length - 2}`)
const reviews = Number(process.argv[2] ?? 1_000_000)
if (!Number.isSafeInteger(reviews) || reviews <= 0) refuse(`reviews must be a positive integer, got "${process.argv[2]}"`)
const BATCH = 500
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench does)")

/** JS heap plus ArrayBuffers (where the fingerprints live), after full GCs. */
const heapMb = () => {
  gc()
  gc()
  const m = process.memoryUsage()
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20
}

const words = ["배송이 빨라요", "가격 대비 좋아요", "소음이 커요", "재구매 의사 있어요", "포장이 꼼꼼했습니다"]
const keywordSets = [{ "배송": "빠름" }, { "가격": "저렴", "품질": "만족" }, { "소음": ["불만", "큼"] }, {}]
const transform = (i: number) => ({
  job_id: "bench", review_id: `r${i}`, product_id: "P1", title: "무선청소기", tag: "가전", rating: 1 + (i % 5),
  review_date: "2026-11-20", review_text: i % 7 === 0 ? `쿠팡체험단 ${words[i % 5]}` : words[i % 5],
  keywords: keywordSets[i % 4], is_coupang_trial: i % 7 === 0 ? 1 : 0
})
const analysis = (i: number) => ({ job_id: "bench", review_id: `r${i}`, sentiment: ["긍정", "부정", "중립"][i % 3], summary: "요약" })

const settings = {
  applicationId: "bench", transformTopic: "transform", analysisTopic: "analysis", controlTopic: "control",
  rowsTopic: "rows", aggregateTopic: "agg",
  timeoutMs: 3_600_000, windowInactivityMs: 90_000, publishIntervalMs: 300_000, jobRetentionMs: 1_000
}

const baseline = heapMb()
let book: JobBook | undefined
const task = reviewTask({
  settings,
  newTraceparent: () => "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  startedAt: Date.now(),
  onBook: (b) => {
    book = b
  }
})
const harness = new TaskHarness(task, { applicationId: "bench", dlqTopic: "dlq" })
let outputs = 0
let changelog = 0
let changelogBytes = 0
let inputBytes = 0
let peak = 0
const size = (v: string | Uint8Array | null | undefined) => (v == null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.byteLength)
const apply = (result: { readonly records: ReadonlyArray<OutgoingRecord>; readonly changelog: ReadonlyArray<OutgoingRecord> }) => {
  outputs += result.records.length
  changelog += result.changelog.length
  for (const r of result.changelog) changelogBytes += size(r.key) + size(r.value)
  // The harness keeps the changelog for restarts; the bench only counts it.
  harness.changelog.length = 0
}
const send = (topic: string, value: unknown) => {
  const text = JSON.stringify(value)
  inputBytes += Buffer.byteLength(text)
  harness.process({ topic, value: text })
}
const started = performance.now()
harness.at(Date.now())
send("control", { job_id: "bench", status: "done", step: "collection", expected_count: reviews })
apply(harness.endBatch())
for (let from = 0; from < reviews; from += BATCH) {
  harness.at(Date.now())
  const to = Math.min(reviews, from + BATCH)
  for (let i = from; i < to; i++) send("transform", transform(i))
  apply(harness.endBatch())
  for (let i = from; i < to; i++) send("analysis", analysis(i))
  apply(harness.endBatch())
  if (from % 20_000 === 0) peak = Math.max(peak, (process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers) / 2 ** 20)
}
const elapsed = (performance.now() - started) / 1000
// Read in a function scope so the bench itself keeps no reference to the job.
const { finished, frozenBytes } = (() => {
  const job = book!.job("bench")
  let bytes = 0
  for (const [, set] of harness.store(task.specs.frozen).group("bench")) bytes += set.byteLength
  return { finished: job?.stages.ended, frozenBytes: bytes }
})()
const afterFinish = heapMb()
apply(harness.at(Date.now() + 2_000).punctuate())
const evicted = book!.job("bench") === undefined
const afterEviction = heapMb()

const fmt = (mb: number) => `${mb.toFixed(1)} MiB`
console.log(`reviews                 ${reviews.toLocaleString("en")}`)
console.log(`outcome                 ${finished?.stage}/${finished?.status}`)
console.log(`records handled         ${(2 * reviews).toLocaleString("en")} in ${elapsed.toFixed(1)} s = ${Math.round((2 * reviews) / elapsed).toLocaleString("en")} records/s`)
console.log(`outputs / changelog     ${outputs.toLocaleString("en")} / ${changelog.toLocaleString("en")} records`)
console.log(`changelog per review    ${(changelog / reviews).toFixed(2)} records, ${Math.round(changelogBytes / reviews)} B (${(changelogBytes / inputBytes).toFixed(2)} x input bytes)`)
console.log(`memory baseline         ${fmt(baseline)}`)
console.log(`memory peak (sampled)   ${fmt(peak)}`)
console.log(`memory after finish     ${fmt(afterFinish)}  (+${fmt(afterFinish - baseline)}; fingerprints of counted ids: ${fmt(frozenBytes / 2 ** 20)})`)
console.log(`memory after eviction   ${fmt(afterEviction)}  (+${fmt(afterEviction - baseline)}; evicted: ${evicted})`)
