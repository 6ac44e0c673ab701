/**
 * A fix for kafkajs's request queue (kafkajs 2.2.4, the last release; upstream issues
 * tulios/kafkajs#1704 and #1751, fixes proposed and not merged). After every response the
 * queue schedules a check of its pending requests at `throttledUntil - now`, which is
 * negative when nothing throttles it (`throttledUntil` starts at -1): a 1 ms timer whose
 * check schedules the next, for as long as the connection lives, whether or not a request
 * is waiting. An idle consumer and producer on the mock cluster fired about 2,700 timers a
 * second and spent 39 ms of CPU a second, 12 ms with this fix; Node 24 also warns
 * (TimeoutNegativeWarning) at the first such timer.
 *
 * The fix schedules a check only when there is something to check: a pending request, or
 * a throttle to wait out (the cases the check exists for; with neither, the check would
 * send nothing). kafkajs's class is patched in place once, before any client connects;
 * if its shape is not the one this fix knows, nothing is patched and `applyRequestQueueFix`
 * returns false (the adapter then logs a warning).
 */
import { createRequire } from "node:module"

interface RequestQueueShape {
  pending: ReadonlyArray<unknown>
  throttledUntil: number
}

type Schedule = (this: RequestQueueShape) => void

const MARK = Symbol.for("kafkajs.requestQueue.fixed")

/** kafkajs's RequestQueue class (an internal module: no public API reaches it). */
export const requestQueueClass = (): { prototype: Record<string | symbol, unknown> } =>
  createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js")

/** Patches the class once; true if the fix is in place (now or before). */
export const applyRequestQueueFix = (): boolean => {
  const proto = requestQueueClass().prototype
  if (proto[MARK] === true) return true
  const original = proto["scheduleCheckPendingRequests"]
  if (typeof original !== "function") return false
  const schedule: Schedule = function(this) {
    if (this.pending.length === 0 && this.throttledUntil - Date.now() <= 0) return
    ;(original as Schedule).call(this)
  }
  proto["scheduleCheckPendingRequests"] = schedule
  proto[MARK] = true
  return true
}
