/**
 * What a running job's state costs per review: the review task handles the first N
 * reviews of one job of N + 1,000 (so the job is still running), then the heap after full
 * GCs is compared with the heap before. Only the state is measured: no floor, no timing.
 *
 *   node --expose-gc --import tsx bench/RunningState.ts <reviews>
 */
import { caseSize } from "./BenchCase.ts"
import { inputBatches } from "./InputBatches.ts"
import { TaskDriver } from "./TaskDriver.ts"
import { benchTask, benchTaskSettings, heapBytes } from "./TaskRun.ts"

const reviews = Number(process.argv[2])
if (!Number.isSafeInteger(reviews) || reviews <= 0) {
  console.error("usage: node --expose-gc --import tsx bench/RunningState.ts <reviews>")
  process.exit(1)
}
const { task, book } = benchTask()
const driver = new TaskDriver(task, { applicationId: benchTaskSettings.applicationId, dlqTopic: "dlq" })
const before = heapBytes()
let handled = 0
for (const batch of inputBatches(caseSize("inprocess", "one-job", reviews + 1_000))) {
  driver.at(Date.now())
  for (const line of batch.lines) {
    driver.process(benchTaskSettings[`${line.topic}Topic`], line.value)
    if (line.topic === "analysis") handled += line.records
  }
  driver.endBatch()
  if (handled >= reviews) break
}
const grown = heapBytes() - before
console.log(`${handled} reviews of a running job: +${(grown / 2 ** 20).toFixed(1)} MiB, ${Math.round(grown / handled)} B per review; ${book()?.pendingJoins ?? 0} join keys waiting`)
