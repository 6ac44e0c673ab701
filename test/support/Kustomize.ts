/**
 * A small kustomize for the manifest tests: exactly the features k8s/ and otel/ use
 * (resources, namespace, configMapGenerator with files, inline patches, replacements),
 * so the tests run where no kustomize is installed. Anything else in a kustomization.yaml
 * is refused; where `kubectl kustomize` exists the test compares both renderings.
 */
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { readFileSync, statSync } from "node:fs"
import { basename, join, resolve } from "node:path"
import { parse, parseAllDocuments } from "yaml"

export type Resource = Record<string, any>

const supportedKeys = new Set(["apiVersion", "kind", "namespace", "resources", "configMapGenerator", "patches", "replacements"])

/** Kinds the manifests use that are not namespaced (kustomize leaves them without a namespace). */
const clusterScoped = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"])

const refuse = (dir: string, what: string): never => {
  throw new Error(`${join(dir, "kustomization.yaml")}: ${what} is not supported by test/support/Kustomize.ts`)
}

/** Renders the kustomization in `dir`, as `kustomize build dir` would (order aside). */
export const render = (dir: string): Array<Resource> => build(resolve(dir)).resources

interface Built {
  readonly resources: Array<Resource>
  /** Generated ConfigMaps: name as written -> name with the content hash. */
  readonly generated: Map<string, string>
}

const build = (dir: string): Built => {
  const k = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Record<string, any>
  for (const key of Object.keys(k)) if (!supportedKeys.has(key)) refuse(dir, `'${key}'`)
  let resources: Array<Resource> = []
  const generated = new Map<string, string>()
  for (const entry of (k.resources ?? []) as Array<string>) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) {
      const child = build(path)
      resources.push(...child.resources)
      for (const [from, to] of child.generated) generated.set(from, to)
    } else {
      resources.push(...parseAllDocuments(readFileSync(path, "utf8")).map((d) => d.toJS()).filter((r) => r != null))
    }
  }
  for (const generator of (k.configMapGenerator ?? []) as Array<Record<string, any>>) {
    const { name, files, ...rest } = generator
    if (Object.keys(rest).length > 0) refuse(dir, `configMapGenerator '${Object.keys(rest).join("', '")}'`)
    const data = Object.fromEntries((files as Array<string>).map((f) => [basename(f), readFileSync(join(dir, f), "utf8")]))
    const hashed = `${name}-${configMapHash(data)}`
    generated.set(name, hashed)
    resources.push({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: hashed }, data })
  }
  for (const patch of (k.patches ?? []) as Array<Record<string, any>>) {
    if (Object.keys(patch).some((key) => key !== "patch")) refuse(dir, "a patch with 'path', 'target' or 'options'")
    resources = applyPatch(dir, resources, parse(patch.patch))
  }
  if (k.namespace !== undefined) {
    for (const r of resources) if (!clusterScoped.has(r.kind)) r.metadata.namespace = k.namespace
  }
  for (const replacement of (k.replacements ?? []) as Array<Record<string, any>>) replace(dir, resources, replacement)
  for (const r of resources) renameConfigMapReferences(r, generated)
  return { resources, generated }
}

/**
 * kustomize's name suffix: sha256 of the JSON of kind, name and data, first 10 hex digits
 * with 0 1 3 a e spelled g h k m t. kustomize 5 looks the name up under a path it does
 * not find, so the name counts as "" (seen with kubectl 1.32's kustomize 5.5).
 */
const configMapHash = (data: Record<string, string>): string => {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  // Go's encoding/json escapes these; JSON.stringify does not.
  const json = JSON.stringify({ data: sorted, kind: "ConfigMap", name: "" })
    .replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
  const hex = createHash("sha256").update(json).digest("hex").slice(0, 10)
  return hex.replace(/[013ae]/g, (c) => ({ "0": "g", "1": "h", "3": "k", a: "m", e: "t" })[c]!)
}

/** A strategic-merge patch of maps only (a null value deletes the key), or `$patch: delete` (lists would need merge keys). */
const applyPatch = (dir: string, resources: Array<Resource>, patch: Resource): Array<Resource> => {
  const matches = (r: Resource) => r.kind === patch.kind && r.metadata?.name === patch.metadata?.name
  if (!resources.some(matches)) throw new Error(`${dir}: patch target ${patch.kind}/${patch.metadata?.name} not found`)
  if (patch.$patch === "delete") return resources.filter((r) => !matches(r))
  const merge = (target: Record<string, any>, source: Record<string, any>) => {
    for (const [key, value] of Object.entries(source)) {
      if (Array.isArray(value)) refuse(dir, `a patch with a list ('${key}')`)
      if (value === null) delete target[key]
      else if (typeof value === "object" && typeof target[key] === "object") merge(target[key], value)
      else target[key] = value
    }
  }
  for (const r of resources.filter(matches)) merge(r, patch)
  return resources
}

/** `a.b.0.c` and `a.[name=x].c`, kustomize's field path syntax for what the manifests need. */
const segments = (fieldPath: string): Array<string> => fieldPath.split(".")

const step = (node: any, segment: string): any => {
  const selector = /^\[(.+)=(.*)\]$/.exec(segment)
  if (selector !== null) return Array.isArray(node) ? node.find((e) => String(e?.[selector[1]!]) === selector[2]) : undefined
  return node?.[/^\d+$/.test(segment) && Array.isArray(node) ? Number(segment) : segment]
}

const get = (node: any, fieldPath: string): any => segments(fieldPath).reduce(step, node)

const set = (dir: string, node: any, fieldPath: string, value: (old: unknown) => unknown) => {
  const path = segments(fieldPath)
  const parent = path.slice(0, -1).reduce(step, node)
  const last = path[path.length - 1]!
  const key = Array.isArray(parent) && /^\d+$/.test(last) ? Number(last) : last
  if (parent === undefined || parent === null || (parent as any)[key] === undefined) {
    throw new Error(`${dir}: replacement target field '${fieldPath}' not found in ${node.kind}/${node.metadata?.name}`)
  }
  parent[key] = value(parent[key])
}

const selects = (select: Record<string, any>, r: Resource) =>
  Object.entries(select).every(([key, value]) => {
    if (key === "kind") return r.kind === value
    if (key === "name") return r.metadata?.name === value
    if (key === "namespace") return r.metadata?.namespace === value
    throw new Error(`replacement select '${key}' is not supported by test/support/Kustomize.ts`)
  })

const replace = (dir: string, resources: Array<Resource>, replacement: Record<string, any>) => {
  const { source, targets, ...rest } = replacement
  if (Object.keys(rest).length > 0) refuse(dir, `replacement '${Object.keys(rest).join("', '")}'`)
  const { fieldPath, ...select } = source
  const from = resources.filter((r) => selects(select, r))
  if (from.length !== 1) throw new Error(`${dir}: replacement source ${JSON.stringify(source)} matches ${from.length} resources`)
  const value = get(from[0], fieldPath ?? "metadata.name")
  if (value === undefined) throw new Error(`${dir}: replacement source field '${fieldPath}' not found`)
  for (const target of targets as Array<Record<string, any>>) {
    const { select: targetSelect, fieldPaths, options, ...other } = target
    if (Object.keys(other).length > 0) refuse(dir, `replacement target '${Object.keys(other).join("', '")}'`)
    const { delimiter, index = 0, ...unknownOptions } = (options ?? {}) as { delimiter?: string; index?: number }
    if (Object.keys(unknownOptions).length > 0) refuse(dir, `replacement option '${Object.keys(unknownOptions).join("', '")}'`)
    const matched = resources.filter((r) => selects(targetSelect, r))
    if (matched.length === 0) throw new Error(`${dir}: replacement target ${JSON.stringify(targetSelect)} matches nothing`)
    for (const r of matched) {
      for (const path of fieldPaths as Array<string>) {
        set(dir, r, path, (old) => {
          if (delimiter === undefined) return value
          // As kustomize: split on the delimiter, put the value at `index` (before the
          // first part when negative, after the last when past the end), join again.
          const parts = String(old).split(delimiter)
          if (index < 0) parts.unshift(String(value))
          else if (index >= parts.length) parts.push(String(value))
          else parts[index] = String(value)
          return parts.join(delimiter)
        })
      }
    }
  }
}

/** Pod specs name generated ConfigMaps by the name written; kustomize adds the hash there too. */
const renameConfigMapReferences = (r: Resource, generated: Map<string, string>) => {
  const pod = r.spec?.template?.spec
  if (pod === undefined || generated.size === 0) return
  const rename = (holder: { name?: string } | undefined) => {
    if (holder?.name !== undefined && generated.has(holder.name)) holder.name = generated.get(holder.name)!
  }
  for (const volume of pod.volumes ?? []) rename(volume.configMap)
  for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const from of container.envFrom ?? []) rename(from.configMapRef)
    for (const env of container.env ?? []) rename(env.valueFrom?.configMapKeyRef)
  }
}

/**
 * The same rendering by an installed kustomize (`kustomize build`, else `kubectl
 * kustomize`), or undefined when neither is on the PATH.
 */
export const renderInstalled = (dir: string): { readonly tool: string; readonly resources: Array<Resource> } | undefined => {
  for (const [command, ...args] of [["kustomize", "build"], ["kubectl", "kustomize"]] as const) {
    const run = spawnSync(command, [...args, resolve(dir)], { encoding: "utf8" })
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") continue
    if (run.status !== 0) throw new Error(`${command} ${args.join(" ")} ${dir} failed: ${run.stderr}`)
    return { tool: `${command} ${args.join(" ")}`, resources: parseAllDocuments(run.stdout).map((d) => d.toJS()).filter((r) => r != null) }
  }
  return undefined
}
