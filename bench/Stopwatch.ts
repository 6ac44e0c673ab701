/**
 * Wall time and this process's CPU time (user + system, every thread) summed over the
 * sections measured, so that generating the input between sections is not counted.
 */
export class Stopwatch {
  private wallMs = 0
  private cpuMicros = 0

  time<A>(section: () => A): A {
    const wall = performance.now()
    const cpu = process.cpuUsage()
    try {
      return section()
    } finally {
      const used = process.cpuUsage(cpu)
      this.cpuMicros += used.user + used.system
      this.wallMs += performance.now() - wall
    }
  }

  get seconds(): number {
    return this.wallMs / 1000
  }

  get cpuMicroseconds(): number {
    return this.cpuMicros
  }
}
