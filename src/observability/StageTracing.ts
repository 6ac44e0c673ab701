/**
 * One OpenTelemetry trace per staged entity (a job): a root span from its first record
 * to its end, and a child span per stage from its start to done/failed/timeout. Spans
 * are created with the entity's own timestamps, so a stage that starts and ends inside
 * one batch still gets its span. The root span's traceparent is what every output of
 * the entity carries.
 */
import { context, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags, type Span, type Tracer } from "@opentelemetry/api"
import type { Stages } from "../kernel/lifecycle/OrderedStages.ts"
import { formatTraceparent, parseTraceparent, randomTraceparent } from "./TraceContext.ts"

interface Traced {
  readonly root: Span
  readonly stages: Map<string, Span>
}

export interface StageTracer {
  /** Starts the entity's root span (child of `parentTraceparent` when given); returns its traceparent. */
  readonly start: (id: string, at: number, parentTraceparent: string | undefined) => string
  /** Brings stage spans in line with the entity's stages; ends the root once the entity ended. */
  readonly sync: <S extends string>(id: string, stages: Stages<S>, resumeTraceparent: string) => void
  /** Entities with spans still open. */
  readonly open: () => number
}

export const disabledStageTracer: StageTracer = {
  start: (_id, _at, parent) => randomTraceparent(parseTraceparent(parent)),
  sync: () => undefined,
  open: () => 0
}

const parentContext = (traceparent: string | undefined) => {
  const ids = parseTraceparent(traceparent)
  if (ids === undefined) return ROOT_CONTEXT
  return trace.setSpanContext(context.active(), {
    traceId: ids.traceId,
    spanId: ids.spanId,
    traceFlags: ids.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true
  })
}

/** `entity` names the spans: `<entity> <id>` for the root, `stage <name>` for each stage. */
export const makeStageTracer = (tracer: Tracer, entity: string): StageTracer => {
  const traced = new Map<string, Traced>()

  const start = (id: string, at: number, parentTraceparent: string | undefined): string => {
    const root = tracer.startSpan(`${entity} ${id}`, { startTime: at, attributes: { [`${entity}.id`]: id } }, parentContext(parentTraceparent))
    traced.set(id, { root, stages: new Map() })
    const sc = root.spanContext()
    return formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED })
  }

  const sync = <S extends string>(id: string, stages: Stages<S>, resumeTraceparent: string): void => {
    let t = traced.get(id)
    if (t === undefined) {
      if (stages.ended !== undefined) return
      // Restored after a restart: the original root span is gone; continue the same trace.
      const at = Date.now()
      const root = tracer.startSpan(`${entity} ${id} (resumed)`, { startTime: at, attributes: { [`${entity}.id`]: id } }, parentContext(resumeTraceparent))
      t = { root, stages: new Map() }
      traced.set(id, t)
    }
    const rootCtx = trace.setSpan(ROOT_CONTEXT, t.root)
    for (const stage of stages.order) {
      const s = stages.states[stage]
      if (s.status === "waiting") continue
      let span = t.stages.get(stage)
      if (span === undefined && s.startedAt !== undefined) {
        span = tracer.startSpan(`stage ${stage}`, { startTime: s.startedAt, attributes: { "stage.name": stage } }, rootCtx)
        t.stages.set(stage, span)
      }
      if (span !== undefined && s.status !== "running" && span.isRecording()) {
        span.setAttribute("stage.status", s.status)
        if (s.status !== "done") span.setStatus({ code: SpanStatusCode.ERROR, message: s.message ?? s.status })
        span.end(s.endedAt)
      }
    }
    if (stages.ended !== undefined) {
      t.root.setAttribute("job.outcome", `${stages.ended.stage}/${stages.ended.status}`)
      if (stages.ended.status !== "done") t.root.setStatus({ code: SpanStatusCode.ERROR, message: stages.ended.message ?? stages.ended.status })
      for (const span of t.stages.values()) if (span.isRecording()) span.end(stages.ended.at)
      t.root.end(stages.ended.at)
      traced.delete(id)
    }
  }

  return { start, sync, open: () => traced.size }
}
