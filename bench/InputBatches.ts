/**
 * The case's messages cut into the batches an in-process run hands the task, as a consumer
 * would fetch them: each collection message alone, transform and analysis messages up to
 * 500 messages or 512 KiB per topic, a transform batch followed by the analysis batch.
 */
import type { InputTopic } from "../src/app/ReviewGenerator.ts"
import { type BenchLine, caseLines, type CaseSize } from "./BenchCase.ts"

const MAX_MESSAGES = 500
const MAX_BYTES = 512 * 1024

export interface InputBatch {
  readonly topic: InputTopic
  readonly lines: ReadonlyArray<BenchLine>
}

export function* inputBatches(size: CaseSize): Generator<InputBatch> {
  const pending = { transform: [] as Array<BenchLine>, analysis: [] as Array<BenchLine> }
  let transformBytes = 0
  function* flush(): Generator<InputBatch> {
    for (const topic of ["transform", "analysis"] as const) {
      if (pending[topic].length > 0) yield { topic, lines: pending[topic] }
      pending[topic] = []
    }
    transformBytes = 0
  }
  for (const line of caseLines(size)) {
    if (line.topic === "control") {
      yield { topic: "control", lines: [line] }
      continue
    }
    pending[line.topic].push(line)
    if (line.topic === "transform") transformBytes += line.value.byteLength
    if (pending.transform.length >= MAX_MESSAGES || transformBytes >= MAX_BYTES) yield* flush()
  }
  yield* flush()
}
