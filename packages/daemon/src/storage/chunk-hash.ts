import { createHash, timingSafeEqual } from 'node:crypto'
import type { ChunkLayout, ChunkLocation } from '@shoal/protocol'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * True when `data` is chunk `index` of `layout`: right length, right SHA-256.
 * Hashes a list of pieces in place, without joining them (measured cheaper
 * than WebCrypto's digest, which copies its input on the main thread).
 */
export function chunkMatches (layout: ChunkLayout, index: number, data: Uint8Array | Uint8ArrayList): boolean {
  return chunkMatchesAt(layout, layout.locate(index), data)
}

/** {@link chunkMatches} for a chunk already located (`layout.locate` or `layout.locateRange`). */
export function chunkMatchesAt (layout: ChunkLayout, loc: ChunkLocation, data: Uint8Array | Uint8ArrayList): boolean {
  if (data.byteLength !== loc.length) return false
  const hash = createHash('sha256')
  if (data instanceof Uint8Array) hash.update(data)
  else for (const piece of data) hash.update(piece)
  return timingSafeEqual(hash.digest(), layout.hashAt(loc))
}
