/**
 * The text of a packed store's chunks. Key `#<seq>:<group>`; value `<version>|` then per
 * member `<length>:<member>` followed by `~` (deleted) or `[<t>:]<length>:<payload>` (`t`,
 * time of last write, for stores with retention). Lengths count UTF-16 code units, so
 * payloads are held as they are, unescaped.
 */
import { Result } from "effect"
import { readNumberField, type ValueCodec } from "./ValueCodec.ts"

export interface Member<V> {
  readonly member: string
  /** Undefined: deleted. */
  readonly value: V | undefined
  readonly writtenAt: number
}

export const chunkKey = (seq: number, group: string) => `#${seq}:${group}`

export const isChunkKey = (text: string): boolean => text.startsWith("#")

export const parseChunkKey = (text: string): { readonly seq: number; readonly group: string } | undefined => {
  const seq = readNumberField(text, 1, ":")
  return seq === undefined || seq.n <= 0 ? undefined : { seq: seq.n, group: text.slice(seq.next) }
}

export const valueEntry = (member: string, writtenAt: number | undefined, payload: string): string =>
  `${member.length}:${member}${writtenAt === undefined ? "" : `${writtenAt}:`}${payload.length}:${payload}`

export const deletedEntry = (member: string): string => `${member.length}:${member}~`

export const decodeChunk = <V>(text: string, codec: ValueCodec<V>, timed: boolean): Result.Result<ReadonlyArray<Member<V>>, string> => {
  const version = readNumberField(text, 0)
  if (version === undefined) return Result.fail("chunk does not start with <version>|")
  if (version.n !== codec.version) return Result.fail(`chunk has format version ${version.n}, this store reads version ${codec.version}`)
  const members: Array<Member<V>> = []
  let at = version.next
  while (at < text.length) {
    const mlen = readNumberField(text, at, ":")
    if (mlen === undefined || mlen.next + mlen.n > text.length) return Result.fail(`malformed member at ${at}`)
    const member = text.slice(mlen.next, mlen.next + mlen.n)
    at = mlen.next + mlen.n
    if (text[at] === "~") {
      members.push({ member, value: undefined, writtenAt: 0 })
      at++
      continue
    }
    let writtenAt = 0
    if (timed) {
      const t = readNumberField(text, at, ":")
      if (t === undefined) return Result.fail(`member ${JSON.stringify(member)} lacks its time of last write`)
      writtenAt = t.n
      at = t.next
    }
    const plen = readNumberField(text, at, ":")
    if (plen === undefined || plen.next + plen.n > text.length) return Result.fail(`malformed value of member ${JSON.stringify(member)}`)
    const value = codec.decodePayload(text.slice(plen.next, plen.next + plen.n))
    if (Result.isFailure(value)) return Result.fail(`member ${JSON.stringify(member)}: ${value.failure}`)
    members.push({ member, value: value.success, writtenAt })
    at = plen.next + plen.n
  }
  return Result.succeed(members)
}
