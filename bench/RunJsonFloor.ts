/**
 * The in-process floor of one case, in a process of its own (so that what it leaves in
 * the heap does not count in the review task's memory figures); prints it as JSON.
 *
 *   node --import tsx bench/RunJsonFloor.ts <case> <reviews>
 */
import { CASES, type CaseName } from "./BenchArgs.ts"
import { caseSize } from "./BenchCase.ts"
import { jsonFloor } from "./JsonFloor.ts"

const [name, reviews] = process.argv.slice(2)
if (!(CASES as ReadonlyArray<string>).includes(name ?? "") || !Number.isSafeInteger(Number(reviews)) || Number(reviews) <= 0) {
  console.error(`usage: node --import tsx bench/RunJsonFloor.ts <${CASES.join("|")}> <reviews>`)
  process.exit(1)
}
process.stdout.write(`${JSON.stringify(jsonFloor(caseSize("inprocess", name as CaseName, Number(reviews))))}\n`)
