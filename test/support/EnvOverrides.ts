/**
 * Sets process.env variables for one test and puts them back after it: settings layers
 * read process.env, so tests of start-up refusals set it directly.
 */
import { afterEach } from "vitest"

/** Registers the restore with the calling test file; returns the setter. */
export const envOverrides = (): ((vars: Record<string, string>) => void) => {
  const saved = new Map<string, string | undefined>()
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    saved.clear()
  })
  return (vars) => {
    for (const [name, value] of Object.entries(vars)) {
      if (!saved.has(name)) saved.set(name, process.env[name])
      process.env[name] = value
    }
  }
}
