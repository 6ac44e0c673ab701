/**
 * Another process's CPU time and memory as Linux reports them in /proc: how the wire path
 * measures the service process without changing it.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"

let ticksPerSecond: number | undefined
const clockTicks = (): number => {
  ticksPerSecond ??= Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100
  return ticksPerSecond
}

/** User + system CPU time of `pid` so far, in microseconds (clock-tick resolution, usually 10 ms). */
export const cpuMicrosOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the command name, which may itself hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) / clockTicks()) * 1e6
}

const statusBytes = (pid: number, field: "VmRSS" | "VmHWM"): number | undefined => {
  try {
    const line = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return line === null ? undefined : Number(line[1]) * 1024
  } catch {
    // The process has exited.
    return undefined
  }
}

/** Resident set size of `pid` now, or undefined once it has exited. */
export const rssOf = (pid: number): number | undefined => statusBytes(pid, "VmRSS")

/** The kernel's high-water mark of `pid`'s resident set size. */
export const peakRssOf = (pid: number): number | undefined => statusBytes(pid, "VmHWM")
