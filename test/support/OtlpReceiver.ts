/**
 * A stand-in for an OpenTelemetry collector: an OTLP/HTTP server that keeps what it is
 * sent, and reads OTLP/JSON trace exports back as flat spans.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface ReceivedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  /** OTLP's numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly statusCode: number
  readonly resource: Readonly<Record<string, unknown>>
}

export const SpanKind = { internal: 1, producer: 4, consumer: 5 } as const

export interface OtlpReceiver {
  readonly url: string
  /** Request bodies per path (`/v1/traces`, `/v1/metrics`), as text. */
  readonly bodies: Map<string, Array<string>>
  /** Every span received so far on /v1/traces (OTLP/JSON bodies). */
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  readonly close: () => Promise<void>
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values?: Array<AnyValue> } }
type KeyValue = { key: string; value: AnyValue }

const valueOf = (v: AnyValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.boolValue ?? v.doubleValue ?? v.arrayValue?.values?.map(valueOf)

const attributesOf = (kvs: ReadonlyArray<KeyValue> | undefined): Record<string, unknown> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]))

interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<KeyValue> }
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: Array<KeyValue>; status?: { code?: number } }>
    }>
  }>
}

export const parseTraceExport = (body: string): Array<ReceivedSpan> => {
  const request = JSON.parse(body) as ExportRequest
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const resource = attributesOf(rs.resource?.attributes)
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId === undefined || s.parentSpanId === "" ? undefined : s.parentSpanId,
        name: s.name,
        kind: s.kind,
        attributes: attributesOf(s.attributes),
        statusCode: s.status?.code ?? 0,
        resource
      }))
    )
  })
}

export const startOtlpReceiver = (): Promise<OtlpReceiver> =>
  new Promise((resolve) => {
    const bodies = new Map<string, Array<string>>()
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const path = req.url ?? ""
        bodies.set(path, [...(bodies.get(path) ?? []), Buffer.concat(chunks).toString("utf8")])
        res.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        bodies,
        spans: () => (bodies.get("/v1/traces") ?? []).flatMap(parseTraceExport),
        close: () => new Promise((r) => server.close(() => r()))
      }))
  })
