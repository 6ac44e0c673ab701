/** STYLE: the kernel never imports the review domain (or anything else above it). */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const kernel = join(root, "src/kernel")

const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [])

const relativeImports = (file: string): Array<string> =>
  [...readFileSync(file, "utf8").matchAll(/(?:import|export)[^"']*from\s+["'](\.[^"']+)["']/g)].map((m) => m[1]!)

describe("module layering", () => {
  it("keeps every relative import of src/kernel inside src/kernel", () => {
    const files = filesUnder(kernel)
    expect(files.length).toBeGreaterThan(10)
    const escapes = files.flatMap((file) =>
      relativeImports(file)
        .map((spec) => resolve(dirname(file), spec))
        .filter((target) => relative(kernel, target).startsWith(".."))
        .map((target) => `${relative(root, file)} imports ${relative(root, target)}`))
    expect(escapes).toEqual([])
  })
})
