/**
 * Process and Node.js runtime metrics (CPU, memory, heap, event-loop delay and use,
 * uptime) under the names Prometheus client libraries use, sampled every few seconds.
 * Effect's own metrics cover fibers only, and the OpenTelemetry runtime instrumentations
 * would reach OTLP but not /metrics, hence this small sampler.
 */
import { Effect, Layer, Metric, Schedule } from "effect"
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from "node:perf_hooks"

const seconds = { unit: "s" } as const
const bytes = { unit: "By" } as const

export const cpuUser = Metric.counter("process_cpu_user_seconds_total", { description: "User CPU time spent", attributes: seconds })
export const cpuSystem = Metric.counter("process_cpu_system_seconds_total", { description: "System CPU time spent", attributes: seconds })
export const cpuTotal = Metric.counter("process_cpu_seconds_total", { description: "User and system CPU time spent", attributes: seconds })
export const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident set size", attributes: bytes })
export const startTime = Metric.gauge("process_start_time_seconds", { description: "Start time of the process since the Unix epoch", attributes: seconds })
export const uptime = Metric.gauge("process_uptime_seconds", { description: "Time since the process started", attributes: seconds })
export const heapTotal = Metric.gauge("nodejs_heap_size_total_bytes", { description: "V8 heap size", attributes: bytes })
export const heapUsed = Metric.gauge("nodejs_heap_size_used_bytes", { description: "V8 heap in use", attributes: bytes })
export const externalMemory = Metric.gauge("nodejs_external_memory_bytes", { description: "Memory of C++ objects bound to JavaScript objects", attributes: bytes })
export const eventLoopLagMean = Metric.gauge("nodejs_eventloop_lag_mean_seconds", { description: "Mean event-loop delay over the last sampling interval", attributes: seconds })
export const eventLoopLagP99 = Metric.gauge("nodejs_eventloop_lag_p99_seconds", { description: "99th percentile of the event-loop delay over the last sampling interval", attributes: seconds })
export const eventLoopLagMax = Metric.gauge("nodejs_eventloop_lag_max_seconds", { description: "Largest event-loop delay over the last sampling interval", attributes: seconds })
export const eventLoopUtilization = Metric.gauge("nodejs_eventloop_utilization_ratio", { description: "Share of the last sampling interval the event loop was busy", attributes: { unit: "1" } })

const nanos = (n: number) => (Number.isFinite(n) ? n / 1e9 : 0)

/** Samples every `intervalMs` (and once at once) for the lifetime of the layer. */
export const layerWith = (intervalMs: number): Layer.Layer<never> => Layer.effectDiscard(Effect.gen(function*() {
  const delay = monitorEventLoopDelay({ resolution: 20 })
  delay.enable()
  yield* Effect.addFinalizer(() => Effect.sync(() => delay.disable()))
  let cpu = { user: 0, system: 0 }
  let elu: EventLoopUtilization | undefined
  yield* Metric.update(startTime, Math.round((Date.now() - process.uptime() * 1000) / 1000))

  const sample = Effect.gen(function*() {
    const usage = process.cpuUsage()
    const user = (usage.user - cpu.user) / 1e6
    const system = (usage.system - cpu.system) / 1e6
    cpu = usage
    yield* Metric.update(cpuUser, user)
    yield* Metric.update(cpuSystem, system)
    yield* Metric.update(cpuTotal, user + system)
    const memory = process.memoryUsage()
    yield* Metric.update(residentMemory, memory.rss)
    yield* Metric.update(heapTotal, memory.heapTotal)
    yield* Metric.update(heapUsed, memory.heapUsed)
    yield* Metric.update(externalMemory, memory.external)
    yield* Metric.update(uptime, process.uptime())
    // Histogram values are nanoseconds; before the first delay sample they are NaN/0.
    yield* Metric.update(eventLoopLagMean, nanos(delay.mean))
    yield* Metric.update(eventLoopLagP99, nanos(delay.percentile(99)))
    yield* Metric.update(eventLoopLagMax, nanos(delay.max))
    delay.reset()
    const now = performance.eventLoopUtilization()
    yield* Metric.update(eventLoopUtilization, elu === undefined ? now.utilization : performance.eventLoopUtilization(now, elu).utilization)
    elu = now
  })
  yield* sample
  yield* Effect.forkScoped(Effect.repeat(sample, Schedule.spaced(intervalMs)))
}))

export const layer = layerWith(5_000)
