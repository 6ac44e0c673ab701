/**
 * The case's messages cut into the events an in-process run hands the task, as the
 * runtime's aligned consumption cuts them: each collection message alone; transform and
 * analysis messages of the same stretch of the input (up to 500 messages or 512 KiB of
 * transform) together in one event, so a review's two sides usually meet within it.
 */
import { type BenchLine, caseLines, type CaseSize } from "./BenchCase.ts"

const MAX_MESSAGES = 500
const MAX_BYTES = 512 * 1024

export interface InputBatch {
  /** Lines of one or several topics, in the order the task handles them. */
  readonly lines: ReadonlyArray<BenchLine>
}

export function* inputBatches(size: CaseSize): Generator<InputBatch> {
  const pending = { transform: [] as Array<BenchLine>, analysis: [] as Array<BenchLine> }
  let transformBytes = 0
  function* flush(): Generator<InputBatch> {
    const lines = [...pending.transform, ...pending.analysis]
    if (lines.length > 0) yield { lines }
    pending.transform = []
    pending.analysis = []
    transformBytes = 0
  }
  for (const line of caseLines(size)) {
    if (line.topic === "control") {
      yield { lines: [line] }
      continue
    }
    pending[line.topic].push(line)
    if (line.topic === "transform") transformBytes += line.value.byteLength
    if (pending.transform.length >= MAX_MESSAGES || transformBytes >= MAX_BYTES) yield* flush()
  }
  yield* flush()
}
