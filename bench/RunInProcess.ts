/**
 * One in-process run of one case, in a process of its own (so memory figures are its own):
 * the JSON floor (in a child process: the heap it grows would otherwise be the task's
 * start), then the review task over the same bytes; prints the RunResult as JSON.
 *
 *   node --expose-gc --import tsx bench/RunInProcess.ts <case> <reviews>
 */
import { CASES, type CaseName } from "./BenchArgs.ts"
import { caseSize } from "./BenchCase.ts"
import { runScript } from "./ChildRun.ts"
import type { RunResult } from "./RunResult.ts"
import { taskRun } from "./TaskRun.ts"

const [name, reviews] = process.argv.slice(2)
if (!(CASES as ReadonlyArray<string>).includes(name ?? "") || !Number.isSafeInteger(Number(reviews)) || Number(reviews) <= 0) {
  console.error(`usage: node --expose-gc --import tsx bench/RunInProcess.ts <${CASES.join("|")}> <reviews>`)
  process.exit(1)
}
const size = caseSize("inprocess", name as CaseName, Number(reviews))
const floor = await runScript<RunResult["floor"]>("RunJsonFloor.ts", [], [name!, reviews!], `the JSON floor of ${name} (${reviews} reviews)`)
const run = await taskRun(size)
const result: RunResult = {
  path: "inprocess",
  case: size.case,
  size,
  ...run,
  floor,
  ratio: floor.recordsPerSecond > 0 ? run.service.recordsPerSecond / floor.recordsPerSecond : 0
}
process.stdout.write(`${JSON.stringify(result)}\n`)
