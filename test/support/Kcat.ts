/** Reading topics with kcat (librdkafka), an independent Kafka client for wire-test checks. */
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import type { ConsumedRecord } from "../../src/kernel/kafka/KafkaPort.ts"

const execFileAsync = promisify(execFile)
const utf8 = new TextEncoder()

interface KcatJson {
  readonly partition: number
  readonly offset: number
  readonly ts: number
  readonly key: string | null
  readonly payload: string | null
  /** kcat -J lists headers as [name, value, name, value, ...]. */
  readonly headers?: ReadonlyArray<string>
}

/**
 * Every record of a topic as kcat reads it (`kcat -C -e -J`), in partition/offset order.
 * `librdkafka`: extra client properties (`-X name=value`), e.g. `check.crcs=true`.
 */
export const kcatRead = async (
  bootstrap: string,
  topic: string,
  librdkafka: Readonly<Record<string, string>> = {}
): Promise<ReadonlyArray<ConsumedRecord>> => {
  const properties = Object.entries(librdkafka).flatMap(([name, value]) => ["-X", `${name}=${value}`])
  const { stdout } = await execFileAsync("kcat", ["-C", "-b", bootstrap, "-t", topic, "-e", "-J", "-q", ...properties], {
    timeout: 20_000,
    maxBuffer: 256 * 1024 * 1024
  })
  return stdout.split("\n").filter((l) => l.trim().length > 0).map((line) => {
    const j = JSON.parse(line) as KcatJson
    const headers: Record<string, string> = {}
    for (let i = 0; i + 1 < (j.headers?.length ?? 0); i += 2) headers[j.headers![i]!] = j.headers![i + 1]!
    return {
      topic,
      partition: j.partition,
      offset: j.offset,
      timestamp: j.ts,
      key: j.key === null ? null : utf8.encode(j.key),
      value: j.payload === null ? null : utf8.encode(j.payload),
      headers
    }
  }).sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}
