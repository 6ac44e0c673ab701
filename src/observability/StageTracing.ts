/**
 * One OpenTelemetry trace per staged entity (a job), made only of spans that are complete
 * when exported: a short root span when the entity is first seen, and one span per stage
 * written when the stage ends, with the stage's own start and end times.
 */
import { context, ROOT_CONTEXT, type Span, SpanStatusCode, trace, TraceFlags, type Tracer } from "@opentelemetry/api"
import type { Stages } from "../kernel/lifecycle/OrderedStages.ts"
import { formatTraceparent, parseTraceparent, randomTraceparent } from "./TraceContext.ts"

/**
 * Why no span is held open: a job runs for hours, and a span exists for Jaeger or Tempo
 * only once it ends. The root ends at once, so every stage span has an exported parent at
 * any time, across restarts too: the root's traceparent is kept in the entity's state, and
 * stage spans after a restart are parented to it.
 */
export interface StageTracer {
  /** Writes the entity's root span (child of `parentTraceparent` when given); returns its traceparent. */
  readonly start: (id: string, at: number, parentTraceparent: string | undefined) => string
  /**
   * Entities restored from state: their stages that had already ended were traced by the
   * process that ended them, so they are not traced again.
   */
  readonly restored: <S extends string>(id: string, stages: Stages<S>) => void
  /** Writes the span of every stage that ended since the last call; forgets the entity once it ended. */
  readonly sync: <S extends string>(id: string, stages: Stages<S>, rootTraceparent: string) => void
  /** Entities being followed (started or restored and not ended). */
  readonly open: () => number
}

export const disabledStageTracer: StageTracer = {
  start: (_id, _at, parent) => randomTraceparent(parseTraceparent(parent)),
  restored: () => undefined,
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

const traceparentOf = (span: Span): string => {
  const sc = span.spanContext()
  return formatTraceparent({ traceId: sc.traceId, spanId: sc.spanId, sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED })
}

/**
 * `entity` names the spans and the id attribute: `<entity>` for the root, `stage <name>`
 * for each stage (a fixed set of names), `<entity>.id` on all of them.
 */
export const makeStageTracer = (tracer: Tracer, entity: string): StageTracer => {
  const idAttribute = `${entity}.id`
  /** Per followed entity, the stages whose spans are written. */
  const traced = new Map<string, Set<string>>()

  const start = (id: string, at: number, parentTraceparent: string | undefined): string => {
    const root = tracer.startSpan(entity, { startTime: at, attributes: { [idAttribute]: id } }, parentContext(parentTraceparent))
    root.end(at)
    traced.set(id, new Set())
    return traceparentOf(root)
  }

  const restored = <S extends string>(id: string, stages: Stages<S>): void => {
    if (stages.ended !== undefined) return
    traced.set(id, new Set(stages.order.filter((s) => stages.states[s].endedAt !== undefined)))
  }

  const sync = <S extends string>(id: string, stages: Stages<S>, rootTraceparent: string): void => {
    const done = traced.get(id)
    // Not followed: ended before this process started, or already finished here.
    if (done === undefined) return
    const parent = parentContext(rootTraceparent)
    for (const stage of stages.order) {
      const s = stages.states[stage]
      if (done.has(stage) || s.startedAt === undefined) continue
      // A stage still running when its entity ended (another stage failed) ends with it.
      const endedAt = s.endedAt ?? stages.ended?.at
      if (endedAt === undefined) continue
      const span = tracer.startSpan(`stage ${stage}`, {
        startTime: s.startedAt,
        attributes: { [idAttribute]: id, "stage.name": stage, "stage.status": s.endedAt === undefined ? "unfinished" : s.status }
      }, parent)
      if (s.status === "failed" || s.status === "timeout") span.setStatus({ code: SpanStatusCode.ERROR, message: s.message ?? s.status })
      if (stages.ended?.stage === stage) span.setAttribute(`${entity}.outcome`, stages.ended.status)
      span.end(endedAt)
      done.add(stage)
    }
    if (stages.ended !== undefined) traced.delete(id)
  }

  return { start, restored, sync, open: () => traced.size }
}
