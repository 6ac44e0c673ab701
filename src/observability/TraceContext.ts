/** W3C Trace Context `traceparent` headers: `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
export interface SpanContextIds {
  readonly traceId: string
  readonly spanId: string
  readonly sampled: boolean
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

export const parseTraceparent = (header: string | undefined): SpanContextIds | undefined => {
  if (header === undefined) return undefined
  const m = TRACEPARENT.exec(header.trim().toLowerCase())
  if (m === null || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined
  return { traceId: m[1]!, spanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 }
}

export const formatTraceparent = (ids: SpanContextIds): string => `00-${ids.traceId}-${ids.spanId}-${ids.sampled ? "01" : "00"}`

const hex = (bytes: number): string => {
  const buf = new Uint8Array(bytes)
  crypto.getRandomValues(buf)
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("")
}

/** A new trace (or a new span in `parent`'s trace), for when no tracer records spans. */
export const randomTraceparent = (parent?: SpanContextIds): string =>
  formatTraceparent({ traceId: parent?.traceId ?? hex(16), spanId: hex(8), sampled: parent?.sampled ?? true })
