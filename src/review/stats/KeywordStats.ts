/**
 * Keyword -> tag counts of non-empty reviews, split into all / trial / regular, and
 * the top-10 rendering of SPEC 5.2.
 */
import { map, struct, sum, type Monoid } from "../../kernel/monoid/Monoids.ts"
import type { Keywords } from "../schema/Lenient.ts"
import type { KeywordAnalysis, TagShare } from "../schema/OutputRecords.ts"
import { percentage } from "./Rounding.ts"

export interface KeywordTags {
  readonly all: ReadonlyMap<string, number>
  readonly trial: ReadonlyMap<string, number>
  readonly regular: ReadonlyMap<string, number>
}

export type KeywordStats = ReadonlyMap<string, KeywordTags>

const TagCounts = map(sum)
export const KeywordStats: Monoid<KeywordStats> = map(struct<KeywordTags>({ all: TagCounts, trial: TagCounts, regular: TagCounts }))

/** One review's contribution: every (keyword, tag) pair counts 1; empty reviews count nothing. */
export const ofReview = (keywords: Keywords, isEmpty: boolean, isTrial: boolean): KeywordStats => {
  if (isEmpty) return KeywordStats.initialValue
  const out = new Map<string, KeywordTags>()
  for (const [keyword, value] of Object.entries(keywords)) {
    const tags = new Map<string, number>()
    for (const tag of typeof value === "string" ? [value] : value) tags.set(tag, (tags.get(tag) ?? 0) + 1)
    out.set(keyword, { all: tags, trial: isTrial ? tags : new Map(), regular: isTrial ? new Map() : tags })
  }
  return out
}

/** Ordering by UTF-16 code units, as SPEC 5.2 asks (not locale order). */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const total = (tags: ReadonlyMap<string, number>): number => {
  let n = 0
  for (const c of tags.values()) n += c
  return n
}

const shares = (tags: ReadonlyMap<string, number>): ReadonlyArray<TagShare> => {
  const n = total(tags)
  return [...tags]
    .filter(([, count]) => count > 0)
    .sort(([ta, ca], [tb, cb]) => cb - ca || byCodeUnits(ta, tb))
    .map(([tag, count]) => ({ tag, count, percentage: percentage(count, n) }))
}

export const TOP_KEYWORDS = 10

export const renderKeywordAnalysis = (stats: KeywordStats): ReadonlyArray<KeywordAnalysis> =>
  [...stats]
    .map(([keyword, tags]) => ({ keyword, tags, total: total(tags.all) }))
    .filter((k) => k.total > 0)
    .sort((a, b) => b.total - a.total || byCodeUnits(a.keyword, b.keyword))
    .slice(0, TOP_KEYWORDS)
    .map(({ keyword, tags }) => ({
      keyword,
      all_tags: shares(tags.all),
      coupang_tags: shares(tags.trial),
      regular_tags: shares(tags.regular)
    }))
