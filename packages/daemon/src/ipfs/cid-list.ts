import { CID } from 'multiformats/cid'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/**
 * CIDs packed one after another in one buffer, with their offsets: a
 * share's file roots without an object per file. A directory of 200,000
 * files kept as `CID` objects (each with its digest, byte views and a string
 * cache) and turned into strings with `CID.toString` took about 360 MB of
 * heap for the file roots alone; packed they are 36 bytes each.
 */
export class CidList {
  private constructor (private readonly bytes: Uint8Array, private readonly offsets: Uint32Array) {}

  /** Pack `cids` in order. */
  static of (cids: Iterable<CID>): CidList {
    const builder = CidList.builder()
    for (const cid of cids) builder.push(cid)
    return builder.build()
  }

  /** Pack CIDs one at a time, as they are made: no array of CID objects in between. */
  static builder (expected = 16): CidListBuilder {
    let bytes = new Uint8Array(Math.max(1, expected) * 36)
    let offsets = new Uint32Array(Math.max(1, expected) + 1)
    let count = 0
    let length = 0
    return {
      push (cid: CID | Uint8Array): void {
        const add = cid instanceof Uint8Array ? cid : cid.bytes
        if (length + add.byteLength > bytes.byteLength) bytes = grown(bytes, length + add.byteLength)
        if (count + 2 > offsets.length) offsets = grown(offsets, count + 2)
        offsets[count++] = length
        bytes.set(add, length)
        length += add.byteLength
      },
      build (): CidList {
        offsets[count] = length
        // (a view when it is mostly full: no second copy of a large list)
        const fit = <T extends Uint8Array | Uint32Array>(array: T, used: number): T => (used * 4 >= array.length * 3 ? array.subarray(0, used) : array.slice(0, used)) as T
        return new CidList(fit(bytes, length), fit(offsets, count + 1))
      }
    }
  }

  /** Read back what {@link toBytes} wrote (CIDs are self-delimiting). Throws on bytes that are not CIDs. */
  static fromBytes (bytes: Uint8Array): CidList {
    const offsets: number[] = []
    let at = 0
    while (at < bytes.byteLength) {
      offsets.push(at)
      at += CID.inspectBytes(bytes.subarray(at)).size
    }
    if (at !== bytes.byteLength) throw new RangeError('a packed CID list ends inside a CID')
    offsets.push(at)
    return new CidList(bytes, Uint32Array.from(offsets))
  }

  /** How many CIDs. */
  get length (): number {
    return this.offsets.length - 1
  }

  /** The CID at `index` (a new object each call). */
  at (index: number): CID | undefined {
    if (index < 0 || index >= this.length) return undefined
    return CID.decode(this.bytes.subarray(this.offsets[index], this.offsets[index + 1]))
  }

  /** The bytes of the CID at `index` (a view: no copy, no CID object). */
  bytesAt (index: number): Uint8Array | undefined {
    if (index < 0 || index >= this.length) return undefined
    return this.bytes.subarray(this.offsets[index], this.offsets[index + 1])
  }

  /** The CID at `index` as a string, as `CID.toString` gives it (base32 for CIDv1), without making a CID. */
  stringAt (index: number): string | undefined {
    if (index < 0 || index >= this.length) return undefined
    const bytes = this.bytes.subarray(this.offsets[index], this.offsets[index + 1])
    return bytes[0] === 1 ? 'b' + base32(bytes) : CID.decode(bytes).toString()
  }

  /** Every CID as a string, in order. */
  strings (): string[] {
    return Array.from({ length: this.length }, (_, i) => this.stringAt(i) as string)
  }

  * [Symbol.iterator] (): IterableIterator<CID> {
    for (let i = 0; i < this.length; i++) yield this.at(i) as CID
  }

  /** The packed bytes (CIDs back to back). */
  toBytes (): Uint8Array {
    return this.bytes
  }
}

/** Packs CIDs in the order pushed: {@link CidList.builder}. */
export interface CidListBuilder {
  /** A CID, or a CID's bytes. */
  push: (cid: CID | Uint8Array) => void
  build: () => CidList
}

/** A copy of `array` with room for at least `needed` elements (twice as many, to amortise). */
function grown<T extends Uint8Array | Uint32Array> (array: T, needed: number): T {
  const out = new (array.constructor as new (length: number) => T)(Math.max(needed, array.length * 2))
  out.set(array)
  return out
}

/** RFC 4648 base32, lower case, no padding (multibase `b` without its prefix), into one flat string. */
function base32 (bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(Math.ceil(bytes.byteLength * 8 / 5))
  let n = 0
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out[n++] = BASE32.charCodeAt((value >>> (bits - 5)) & 31)
      bits -= 5
    }
    value &= (1 << bits) - 1
  }
  if (bits > 0) out[n++] = BASE32.charCodeAt((value << (5 - bits)) & 31)
  return out.toString('latin1', 0, n)
}
