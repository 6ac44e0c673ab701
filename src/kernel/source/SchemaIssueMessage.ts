/**
 * One line from a Schema decode failure, built from the structured issue (its path and
 * message), e.g. `rating: Expected a number or a numeric string`. Several problems are
 * joined with `; `.
 */
import { SchemaIssue } from "effect"

const standard = SchemaIssue.makeFormatterStandardSchemaV1()

const segment = (p: PropertyKey | { readonly key: PropertyKey }): string =>
  String(typeof p === "object" ? p.key : p)

export const issueMessage = (issue: SchemaIssue.Issue): string =>
  standard(issue).issues
    .map((i) => (i.path === undefined || i.path.length === 0 ? i.message : `${i.path.map(segment).join(".")}: ${i.message}`))
    .join("; ")
