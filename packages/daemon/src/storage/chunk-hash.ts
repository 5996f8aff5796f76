import { createHash, hash, timingSafeEqual } from 'node:crypto'
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
  return timingSafeEqual(sha256(data), layout.hashAt(loc))
}

/**
 * SHA-256 of one buffer or a list of pieces. One buffer goes through the
 * one-shot `crypto.hash`: no Hash object, whose native context is freed only
 * when the garbage collector gets to it (a directory of tiny files hashes
 * hundreds of thousands of chunks).
 */
export function sha256 (data: Uint8Array | Uint8ArrayList): Uint8Array {
  if (data instanceof Uint8Array) return hash('sha256', data, 'buffer')
  const h = createHash('sha256')
  for (const piece of data) h.update(piece)
  return h.digest()
}
