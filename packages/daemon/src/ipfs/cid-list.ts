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
  static of (cids: readonly CID[]): CidList {
    const offsets = new Uint32Array(cids.length + 1)
    let length = 0
    cids.forEach((cid, i) => { offsets[i] = length; length += cid.bytes.byteLength })
    offsets[cids.length] = length
    const bytes = new Uint8Array(length)
    cids.forEach((cid, i) => { bytes.set(cid.bytes, offsets[i]) })
    return new CidList(bytes, offsets)
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
