/**
 * An append-only list of strings kept outside the JS heap (a TextArena and the handle of
 * each string): for long lists that are only ever read whole, such as the members of a
 * running group (see GroupLivedChangelog).
 */
import { TextArena } from "./TextArena.ts"

export class TextList {
  private readonly arena = new TextArena(64)
  /** Handle of each string; the arena's end closes the last one. */
  private handles = new Uint32Array(8)
  private count = 0

  get size(): number {
    return this.count
  }

  push(text: string): void {
    if (this.count === this.handles.length) {
      const grown = new Uint32Array(this.count * 2)
      grown.set(this.handles)
      this.handles = grown
    }
    // Appended first: if that throws (no memory), the list is as it was.
    const handle = this.arena.append(text)
    this.handles[this.count++] = handle
  }

  /** The strings in the order pushed (those pushed while reading included). */
  *[Symbol.iterator](): IterableIterator<string> {
    for (let i = 0; i < this.count; i++) {
      yield this.arena.read(this.handles[i]!, i + 1 < this.count ? this.handles[i + 1]! : this.arena.end)
    }
  }
}
