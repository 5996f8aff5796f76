import { CHUNK_HASH_LENGTH, chunkCountOf } from '@shoal/protocol'
import type { ChunkLayout } from '@shoal/protocol'

/** No chunk in this slot. */
const EMPTY = -1

/**
 * A share's chunks by their SHA-256: the raw leaves of a share with 1 MiB
 * chunks, found by the digest of the CID asked for. An open-addressing table
 * of chunk indexes keyed by the first 4 bytes of each chunk's hash, the
 * whole hash compared against the manifest's on a hit: ~8 bytes per chunk.
 * A string key, a reference object and a list per chunk cost ~200 bytes
 * (20 MB of heap for a share of 100,000 chunks).
 */
export class ChunkDigestIndex {
  private readonly slots: Int32Array
  private readonly mask: number

  constructor (private readonly layout: ChunkLayout) {
    let capacity = 16
    while (capacity < layout.chunkCount * 2) capacity *= 2
    this.slots = new Int32Array(capacity).fill(EMPTY)
    this.mask = capacity - 1
    const { files, chunkSize } = layout.manifest
    let index = 0
    for (const file of files) {
      const count = chunkCountOf(file.size, chunkSize)
      for (let i = 0; i < count; i++, index++) {
        let slot = prefixOf(file.hashes, i * CHUNK_HASH_LENGTH) & this.mask
        while (this.slots[slot] !== EMPTY) slot = (slot + 1) & this.mask
        this.slots[slot] = index
      }
    }
  }

  /** The global index of a chunk whose hash is `digest` (the first, if several chunks are the same), or undefined. */
  find (digest: Uint8Array): number | undefined {
    if (digest.byteLength !== CHUNK_HASH_LENGTH) return undefined
    for (let slot = prefixOf(digest, 0) & this.mask; ; slot = (slot + 1) & this.mask) {
      const index = this.slots[slot] as number
      if (index === EMPTY) return undefined
      if (Buffer.compare(this.layout.hashOf(index), digest) === 0) return index
    }
  }
}

/** The 4 bytes at `at` as an unsigned integer. */
function prefixOf (bytes: Uint8Array, at: number): number {
  return (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>> 0
}
