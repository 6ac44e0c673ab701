/**
 * The in-process floor: UTF-8 decoding, JSON.parse and a record counter over the very
 * bytes and batches the task gets, the least any JSON consumer of them must do.
 */
import type { CaseSize } from "./BenchCase.ts"
import { inputBatches } from "./InputBatches.ts"
import { type RunResult, throughput } from "./RunResult.ts"
import { Stopwatch } from "./Stopwatch.ts"

const elements = (value: unknown, field: "reviews" | "results"): number => {
  const list = (value as Record<string, unknown> | null)?.[field]
  return Array.isArray(list) ? list.length : 1
}

export const jsonFloor = (size: CaseSize): RunResult["floor"] => {
  const decoder = new TextDecoder("utf-8", { fatal: true })
  const watch = new Stopwatch()
  let messages = 0
  let records = 0
  for (const batch of inputBatches(size)) {
    watch.time(() => {
      for (const line of batch.lines) {
        const value: unknown = JSON.parse(decoder.decode(line.value))
        if (line.topic === "control") continue
        messages++
        records += elements(value, line.topic === "transform" ? "reviews" : "results")
      }
    })
  }
  return { what: "UTF-8 decode + JSON.parse + counter", messagesRead: messages, recordsCounted: records, ...throughput(records, watch.seconds, watch.cpuMicroseconds) }
}
