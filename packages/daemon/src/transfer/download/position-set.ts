/**
 * A set of positions 0..capacity−1 in order: a bitset under summary bitsets
 * (a bit per non-empty word of the level below), so add, delete and "first
 * member at or after p" each touch one word per level (log₃₂ capacity).
 */
export class PositionSet {
  size = 0
  /** levels[0]: one bit per position; levels[k + 1]: one bit per non-zero word of levels[k]. */
  private readonly levels: Uint32Array[] = []

  constructor (capacity: number) {
    let words = capacity
    do {
      words = Math.ceil(words / 32)
      this.levels.push(new Uint32Array(Math.max(1, words)))
    } while (words > 1)
  }

  has (p: number): boolean {
    const word = this.levels[0]?.[p >>> 5]
    return word !== undefined && ((word >>> (p & 31)) & 1) === 1
  }

  add (p: number): void {
    if (this.has(p)) return
    this.size++
    for (const level of this.levels) {
      const w = p >>> 5
      const before = level[w] as number
      level[w] = before | (1 << (p & 31))
      if (before !== 0) return
      p = w
    }
  }

  delete (p: number): void {
    if (!this.has(p)) return
    this.size--
    for (const level of this.levels) {
      const w = p >>> 5
      const after = ((level[w] as number) & ~(1 << (p & 31))) >>> 0
      level[w] = after
      if (after !== 0) return
      p = w
    }
  }

  /** The first member at or after `from`, or -1. */
  next (from: number): number {
    let l = 0
    let p = from
    // climb until a word has a member at or after p
    while (true) {
      const level = this.levels[l]
      if (level === undefined) return -1
      const w = p >>> 5
      if (w >= level.length) return -1
      const bits = (level[w] as number) & (-1 << (p & 31))
      if (bits !== 0) {
        p = (w << 5) | lowestBit(bits)
        break
      }
      p = w + 1
      l++
    }
    // descend along the first member
    while (l > 0) {
      l--
      p = (p << 5) | lowestBit(this.levels[l]?.[p] as number)
    }
    return p
  }
}

function lowestBit (word: number): number {
  return 31 - Math.clz32(word & -word)
}
