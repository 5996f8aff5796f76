import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ChunkLayout } from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import { ChunkDigestIndex } from '../src/ipfs/chunk-digest-index.js'

const MiB = 1024 * 1024
const digest = (k: number): Uint8Array => createHash('sha256').update(String(k)).digest()

/** A manifest whose chunk k has hash digest(k), except where `same` repeats one. */
function manifestOf (sizes: number[], same: Map<number, number> = new Map()): Manifest {
  let k = 0
  const files = sizes.map((size, i) => {
    const count = size === 0 ? 0 : Math.ceil(size / MiB)
    const hashes = new Uint8Array(count * 32)
    for (let c = 0; c < count; c++, k++) hashes.set(digest(same.get(k) ?? k), c * 32)
    return { path: `f${i}`, size, hashes }
  })
  return { version: 1, kind: 'dir', chunkSize: MiB, files, dirs: [] }
}

describe('ChunkDigestIndex', () => {
  it('finds every chunk of a share by its hash, across files and empty files', () => {
    const layout = new ChunkLayout(manifestOf([3 * MiB, 0, 1, MiB + 5, 0, 7 * MiB]))
    const index = new ChunkDigestIndex(layout)
    for (let k = 0; k < layout.chunkCount; k++) expect(index.find(digest(k))).toBe(k)
  })

  it('says undefined for a hash no chunk has, and for a digest of another length', () => {
    const index = new ChunkDigestIndex(new ChunkLayout(manifestOf([2 * MiB])))
    expect(index.find(digest(99))).toBeUndefined()
    expect(index.find(digest(0).subarray(0, 20))).toBeUndefined()
  })

  it('finds a chunk among many whose hashes share their first 4 bytes (probing past them)', () => {
    const layout = new ChunkLayout(manifestOf([40 * MiB]))
    // rewrite the hashes so that all begin alike: every lookup probes
    const hashes = layout.manifest.files[0]?.hashes as Uint8Array
    for (let c = 0; c < 40; c++) hashes.set([1, 2, 3, 4], c * 32)
    const index = new ChunkDigestIndex(layout)
    for (let c = 0; c < 40; c++) expect(index.find(hashes.slice(c * 32, c * 32 + 32))).toBe(c)
  })

  it('gives one of the chunks when several have the same bytes', () => {
    const layout = new ChunkLayout(manifestOf([4 * MiB], new Map([[3, 1]])))
    const found = new ChunkDigestIndex(layout).find(digest(1))
    expect([1, 3]).toContain(found)
  })

  it('an empty share has an empty index', () => {
    expect(new ChunkDigestIndex(new ChunkLayout(manifestOf([0, 0]))).find(digest(0))).toBeUndefined()
  })
})
