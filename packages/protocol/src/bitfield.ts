/**
 * A fixed-size set of chunk indexes, one bit each (bit i: byte i>>3, MSB
 * first), as BITFIELD messages carry it.
 *
 * @example
 * ```ts
 * const have = new Bitfield(layout.chunkCount)
 * have.set(0)
 * const next = have.missing().next().value // 1
 * const theirs = new Bitfield(layout.chunkCount, msg.data) // from a peer
 * ```
 */
export class Bitfield {
  /** How many bits (chunks). */
  readonly size: number
  /** The bits, `ceil(size / 8)` bytes; bits past `size` are always 0. */
  readonly bytes: Uint8Array
  private setCount: number

  /**
   * @param size - how many bits
   * @param bytes - initial bits, copied (RangeError unless `ceil(size / 8)` bytes); all clear when omitted
   */
  constructor (size: number, bytes?: Uint8Array) {
    this.size = size
    const length = Math.ceil(size / 8)
    if (bytes !== undefined && bytes.byteLength !== length) {
      throw new RangeError(`bitfield for ${size} bits needs ${length} bytes, got ${bytes.byteLength}`)
    }
    this.bytes = bytes !== undefined ? Uint8Array.from(bytes) : new Uint8Array(length)
    // bits past `size` are never counted
    const spare = length * 8 - size
    if (spare > 0 && length > 0) this.bytes[length - 1] = (this.bytes[length - 1] as number) & (0xff << spare)
    this.setCount = 0
    for (const byte of this.bytes) this.setCount += popcount(byte)
  }

  /** True when bit `index` is set; false for an index out of range. */
  has (index: number): boolean {
    if (index < 0 || index >= this.size) return false
    return (((this.bytes[index >> 3] as number) >> (7 - (index & 7))) & 1) === 1
  }

  /** Set bit `index`; returns true when it was not set before. */
  set (index: number): boolean {
    if (index < 0 || index >= this.size || !Number.isInteger(index)) throw new RangeError(`bit ${index} out of range 0..${this.size - 1}`)
    if (this.has(index)) return false
    this.bytes[index >> 3] = (this.bytes[index >> 3] as number) | (0x80 >> (index & 7))
    this.setCount++
    return true
  }

  /** Clear bit `index`; returns true when it was set before. */
  clear (index: number): boolean {
    if (!this.has(index)) return false
    this.bytes[index >> 3] = (this.bytes[index >> 3] as number) & ~(0x80 >> (index & 7))
    this.setCount--
    return true
  }

  /** How many bits are set. */
  get count (): number {
    return this.setCount
  }

  /** True when every bit is set. */
  get complete (): boolean {
    return this.setCount === this.size
  }

  /** Indexes not yet set, in order. */
  * missing (): Generator<number> {
    for (let i = 0; i < this.size; i++) if (!this.has(i)) yield i
  }

  /** A bitfield of `size` bits, all set (a peer that has every chunk). */
  static full (size: number): Bitfield {
    const b = new Bitfield(size)
    for (let i = 0; i < size; i++) b.set(i)
    return b
  }
}

function popcount (byte: number): number {
  let n = 0
  for (let b = byte; b !== 0; b &= b - 1) n++
  return n
}
