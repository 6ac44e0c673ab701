/** The median of repeated runs of one case on one path, figure by figure, for the summary. */
import type { CaseName, ModeName, PathName } from "./BenchArgs.ts"
import type { RunResult } from "./RunResult.ts"

export interface Median {
  readonly path: PathName
  readonly mode?: ModeName
  readonly case: CaseName
  readonly runs: number
  readonly reviews: number
  readonly recordsPerSecond: number
  readonly floorRecordsPerSecond: number
  readonly ratio: number
  readonly cpuMicrosPerRecord: number
  readonly peakRssBytes: number
  readonly changelogRecordsPerReview: number
  readonly changelogBytesPerReview: number
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** One Median per path and case, in the order the runs came. */
export const mediansOf = (runs: ReadonlyArray<RunResult>): ReadonlyArray<Median> => {
  const groups = new Map<string, Array<RunResult>>()
  for (const run of runs) {
    const key = `${run.path}/${run.mode ?? ""}/${run.case}/${run.size.reviews}`
    groups.set(key, [...(groups.get(key) ?? []), run])
  }
  return [...groups.values()].map((group) => {
    const of = (figure: (r: RunResult) => number) => median(group.map(figure))
    return {
      path: group[0]!.path,
      ...(group[0]!.mode === undefined ? {} : { mode: group[0]!.mode }),
      case: group[0]!.case,
      runs: group.length,
      reviews: group[0]!.size.reviews,
      recordsPerSecond: of((r) => r.service.recordsPerSecond),
      floorRecordsPerSecond: of((r) => r.floor.recordsPerSecond),
      ratio: of((r) => r.ratio),
      cpuMicrosPerRecord: of((r) => r.service.cpuMicrosPerRecord),
      peakRssBytes: of((r) => r.service.peakRssBytes),
      changelogRecordsPerReview: of((r) => r.changelog.recordsPerReview),
      changelogBytesPerReview: of((r) => r.changelog.bytesPerReview)
    }
  })
}
