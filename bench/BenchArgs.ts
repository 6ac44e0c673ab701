/**
 * The bench suite's command line: which paths and cases, how many reviews, how many runs,
 * a table or one JSON document. A bad argument stops the suite with a message naming it.
 */
export const PATHS = ["inprocess", "wire"] as const
export const CASES = ["one-job", "many-jobs", "envelopes"] as const
/** The service's PARTITION_ASSIGNMENT on the wire. */
export const MODES = ["single-active", "co-partitioned"] as const
export type PathName = (typeof PATHS)[number]
export type CaseName = (typeof CASES)[number]
export type ModeName = (typeof MODES)[number]

export interface BenchArgs {
  readonly paths: ReadonlyArray<PathName>
  readonly cases: ReadonlyArray<CaseName>
  /** Reviews per case; undefined: each case's default for its path. */
  readonly reviews: number | undefined
  /** Fresh runs of each case (the table adds their median). */
  readonly repeat: number
  /** How the wire path runs the service (the in-process path runs the review task alone). */
  readonly mode: ModeName
  readonly json: boolean
}

export const USAGE = `usage: npm run bench -- [reviews] [--path inprocess|wire|all] [--case one-job|many-jobs|envelopes|all]
                           [--reviews N] [--repeat N] [--mode single-active|co-partitioned] [--json]
  --path     where the records flow; default inprocess (wire needs librdkafka-dev and kcat)
  --case     one or more, comma-separated; default all
  --reviews  reviews per case (also as the one positional argument); default 1,000,000 in
             process (many-jobs: 200,000), 200,000 on the wire
  --repeat   fresh runs of each case; default 1
  --mode     the service's PARTITION_ASSIGNMENT on the wire (the in-process path ignores it);
             default single-active, so figures stay comparable with earlier ones, although
             the service's own default is co-partitioned (repartition stage, then the task);
             co-partitioned, the mock holds jobs of up to ~3,900 reviews (--case many-jobs)
  --json     one JSON document instead of the table`

export class BadArgument extends Error {}

const choices = <A extends string>(name: string, value: string, all: ReadonlyArray<A>): ReadonlyArray<A> => {
  if (value === "all") return all
  const picked = value.split(",").map((v) => v.trim())
  const unknown = picked.filter((v) => !(all as ReadonlyArray<string>).includes(v))
  if (unknown.length > 0 || picked.length === 0) {
    throw new BadArgument(`${name} must be ${all.join(", ")} or all (comma-separated), got "${value}"`)
  }
  return [...new Set(picked as Array<A>)]
}

const oneOf = <A extends string>(name: string, value: string, all: ReadonlyArray<A>): A => {
  if (!(all as ReadonlyArray<string>).includes(value)) throw new BadArgument(`${name} must be ${all.join(" or ")}, got "${value}"`)
  return value as A
}

const positiveInteger = (name: string, value: string): number => {
  const n = Number(value)
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new BadArgument(`${name} must be a positive integer, got "${value}"`)
  }
  return n
}

/** Parses the arguments after `npm run bench --`; throws BadArgument naming the argument. */
export const parseArgs = (argv: ReadonlyArray<string>): BenchArgs => {
  let paths: ReadonlyArray<PathName> = ["inprocess"]
  let cases: ReadonlyArray<CaseName> = CASES
  let reviews: number | undefined
  let repeat = 1
  let mode: ModeName = "single-active"
  let json = false
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
    const value = (): string => {
      const v = inline ?? argv[++i]
      if (v === undefined || v === "") throw new BadArgument(`${flag} needs a value`)
      return v
    }
    switch (flag) {
      case "--path":
        paths = choices("--path", value(), PATHS)
        break
      case "--case":
        cases = choices("--case", value(), CASES)
        break
      case "--reviews":
        reviews = positiveInteger("--reviews", value())
        break
      case "--repeat":
        repeat = positiveInteger("--repeat", value())
        break
      case "--mode":
        mode = oneOf("--mode", value(), MODES)
        break
      case "--json":
        if (inline !== undefined) throw new BadArgument(`--json takes no value, got "${arg}"`)
        json = true
        break
      default:
        if (arg.startsWith("-")) throw new BadArgument(`unknown argument "${arg}"`)
        positional.push(arg)
    }
  }
  if (positional.length > 1) throw new BadArgument(`expected at most one positional argument (reviews), got ${positional.length}: ${positional.join(" ")}`)
  if (positional.length === 1) {
    if (reviews !== undefined) throw new BadArgument(`reviews given twice: "${positional[0]}" and --reviews ${reviews}`)
    reviews = positiveInteger("reviews", positional[0]!)
  }
  return { paths, cases, reviews, repeat, mode, json }
}
