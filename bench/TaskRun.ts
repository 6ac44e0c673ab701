/**
 * The in-process path: the review task (decode -> JobBook -> stores -> changelog) driven in
 * memory (TaskDriver) over the case's batches, without Kafka. Measures the task's
 * sections only, counts what it writes to its changelog, and follows the heap through the
 * jobs' end and their retention.
 */
import type { OutgoingRecord } from "../src/kernel/kafka/KafkaPort.ts"
import type { JobBook } from "../src/review/JobBook.ts"
import { reviewTask } from "../src/review/ReviewTask.ts"
import { type CaseSize, count, jobIdOf, newTally } from "./BenchCase.ts"
import { inputBatches } from "./InputBatches.ts"
import { sampleRss } from "./RssSampler.ts"
import { changelogFigures, finalStatus, reviewMessages, type RunResult, throughput } from "./RunResult.ts"
import { Stopwatch } from "./Stopwatch.ts"
import { TaskDriver } from "./TaskDriver.ts"

export const benchTaskSettings = {
  applicationId: "bench", transformTopic: "transform", analysisTopic: "analysis", controlTopic: "control",
  rowsTopic: "rows", aggregateTopic: "agg",
  timeoutMs: 3_600_000, windowInactivityMs: 90_000, publishIntervalMs: 300_000, jobRetentionMs: 1_000
}

const gc = (globalThis as { gc?: () => void }).gc

/** JS heap plus ArrayBuffers (where fingerprints live), after full GCs. */
export const heapBytes = (): number => {
  if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench does)")
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const size = (v: string | Uint8Array | null | undefined) => (v == null ? 0 : typeof v === "string" ? Buffer.byteLength(v) : v.byteLength)
const text = new TextDecoder()
const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

export type TaskRunResult = Pick<RunResult, "input" | "service" | "changelog" | "outcome" | "heap">

/** The review task as the in-process runs drive it, and a way to its (one) job book. */
export const benchTask = () => {
  let book: JobBook | undefined
  const task = reviewTask({
    settings: benchTaskSettings,
    newTraceparent: () => "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    startedAt: Date.now(),
    onBook: (b) => void (book = b)
  })
  return { task, book: () => book }
}

export const taskRun = async (caseSize: CaseSize): Promise<TaskRunResult> => {
  const baselineBytes = heapBytes()
  const { task, book: bookOf } = benchTask()
  const driver = new TaskDriver(task, { applicationId: benchTaskSettings.applicationId, dlqTopic: "dlq" })
  const input = newTally()
  const statuses = new Map<string, string>()
  const changelogTopics = new Set<string>()
  let changelog = 0
  let changelogBytes = 0
  const apply = (out: { readonly records: ReadonlyArray<OutgoingRecord>; readonly changelog: ReadonlyArray<OutgoingRecord> }) => {
    changelog += out.changelog.length
    for (const r of out.changelog) {
      changelogTopics.add(r.topic)
      changelogBytes += size(r.key) + size(r.value)
    }
    for (const r of out.records) {
      if (r.topic !== benchTaskSettings.controlTopic || r.value == null) continue
      const message = JSON.parse(typeof r.value === "string" ? r.value : text.decode(r.value)) as { readonly job_id: string; readonly step?: unknown; readonly status?: unknown }
      const status = finalStatus(message)
      if (status !== undefined) statuses.set(message.job_id, status)
    }
  }

  // Halfway through the input (untimed): the heap of jobs still running, per review handled.
  let halfway: { readonly bytes: number; readonly reviews: number } | undefined
  let reviewsHandled = 0
  const watch = new Stopwatch()
  const baselineRssBytes = process.memoryUsage.rss()
  const rss = sampleRss(() => process.memoryUsage.rss())
  for (const batch of inputBatches(caseSize)) {
    for (const line of batch.lines) {
      count(input, line)
      if (line.topic === "analysis") reviewsHandled += line.records
    }
    watch.time(() => {
      driver.at(Date.now())
      for (const line of batch.lines) driver.process(benchTaskSettings[`${line.topic}Topic`], line.value)
      apply(driver.endBatch())
    })
    if (halfway === undefined && reviewsHandled >= caseSize.reviews / 2) halfway = { bytes: heapBytes(), reviews: reviewsHandled }
    // Lets the RSS sampler's timer fire between batches.
    await turn()
  }
  const peak = rss.stop()
  const afterFinishBytes = heapBytes()
  apply(driver.at(Date.now() + 2 * benchTaskSettings.jobRetentionMs).punctuate())
  const evicted = Array.from({ length: caseSize.jobs }, (_, j) => bookOf()?.job(jobIdOf(caseSize, j))).every((job) => job === undefined)
  const afterEvictionBytes = heapBytes()

  const byStatus: Record<string, number> = {}
  for (const status of statuses.values()) byStatus[status] = (byStatus[status] ?? 0) + 1
  return {
    input,
    service: {
      ...throughput(input.records, watch.seconds, watch.cpuMicroseconds),
      messagesRead: reviewMessages(input),
      baselineRssBytes,
      peakRssBytes: Math.max(peak.peakBytes, baselineRssBytes),
      rssSamples: peak.samples,
      maxRssBytes: process.resourceUsage().maxRSS * 1024
    },
    changelog: changelogFigures([...changelogTopics].sort(), changelog, changelogBytes, caseSize, input, false),
    outcome: { jobs: caseSize.jobs, statuses: byStatus },
    heap: { baselineBytes, halfwayBytes: halfway?.bytes ?? afterFinishBytes, halfwayReviews: halfway?.reviews ?? reviewsHandled, afterFinishBytes, afterEvictionBytes, evicted }
  }
}
