/**
 * Job status messages on the control topic (SPEC 3.3): what upstream stages write
 * (lenient: `fail`/`error`, `completed_at`, `failure_reason`) and what this service
 * writes (strict: lowercase status, ISO-8601 UTC timestamp).
 */
import { Schema, SchemaTransformation } from "effect"
import { Id, LenientInt, optionalNullable } from "./Lenient.ts"

export const Steps = ["collection", "transform", "analysis", "aggregation"] as const
export type Step = (typeof Steps)[number]
export const Statuses = ["done", "failed", "timeout"] as const
export type Status = (typeof Statuses)[number]

const statusWords: Readonly<Record<string, Status>> = {
  done: "done",
  failed: "failed",
  fail: "failed",
  error: "failed",
  timeout: "timeout"
}

const caseInsensitive = <L extends string>(name: string, words: Readonly<Record<string, L>>, literals: ReadonlyArray<L>) =>
  Schema.String.check(
    Schema.makeFilter((s: string) =>
      words[s.trim().toLowerCase()] !== undefined || `unknown ${name} "${s}" (expected ${Object.keys(words).join("|")})`
    )
  ).pipe(Schema.decodeTo(Schema.Literals(literals), SchemaTransformation.transform<L, string>({
    decode: (s) => words[s.trim().toLowerCase()]!,
    encode: (s) => s
  })))

const StatusWord = caseInsensitive("status", statusWords, Statuses)
const StepWord = caseInsensitive("step", Object.fromEntries(Steps.map((s) => [s, s])) as Record<string, Step>, Steps)

/** A control message as any stage may write it. */
export const ControlRecordInput = Schema.Struct({
  job_id: Id,
  status: StatusWord,
  step: StepWord,
  expected_count: optionalNullable(LenientInt.check(Schema.isGreaterThanOrEqualTo(0))),
  actual_count: optionalNullable(LenientInt),
  timestamp: optionalNullable(Schema.String),
  completed_at: optionalNullable(Schema.String),
  error_message: optionalNullable(Schema.String),
  failure_reason: optionalNullable(Schema.String)
}).check(Schema.makeFilter((r) =>
  !(r.step === "collection" && r.status === "done" && (r.expected_count === undefined || r.expected_count === null)) ||
  "expected_count: a collection done message must carry expected_count"
))
export type ControlRecordInput = typeof ControlRecordInput.Type
