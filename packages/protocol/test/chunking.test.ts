import { describe, it, expect } from 'vitest'
import { Bitfield, ChunkLayout, chunkCountOf, CHUNK_HASH_LENGTH } from '../src/index.js'
import type { ChunkLocation, Manifest, ManifestFile } from '../src/index.js'
import { CHUNK, dirManifest, expectShoalError, fileManifest } from './helpers.js'

/**
 * Files whose every hash byte is the chunk's global index (mod 256), so
 * hashOf(i) can be checked by value.
 */
function layoutManifest (sizes: Array<[string, number]>, chunkSize = CHUNK): Manifest {
  let global = 0
  const files: ManifestFile[] = sizes.map(([path, size]) => {
    const n = chunkCountOf(size, chunkSize)
    const hashes = new Uint8Array(n * CHUNK_HASH_LENGTH)
    for (let i = 0; i < n; i++) hashes.fill((global + i) & 0xff, i * CHUNK_HASH_LENGTH, (i + 1) * CHUNK_HASH_LENGTH)
    global += n
    return { path, size, hashes }
  })
  return dirManifest(files, [], chunkSize)
}

/** Reference implementation: walk files linearly. */
function naiveLocations (m: Manifest): ChunkLocation[] {
  const out: ChunkLocation[] = []
  m.files.forEach((f, fileIndex) => {
    for (let offset = 0; offset < f.size; offset += m.chunkSize) {
      out.push({ index: out.length, fileIndex, offset, length: Math.min(m.chunkSize, f.size - offset) })
    }
  })
  return out
}

describe('chunkCountOf', () => {
  it('counts chunks at the boundaries', () => {
    expect(chunkCountOf(0, CHUNK)).toBe(0)
    expect(chunkCountOf(1, CHUNK)).toBe(1)
    expect(chunkCountOf(CHUNK - 1, CHUNK)).toBe(1)
    expect(chunkCountOf(CHUNK, CHUNK)).toBe(1)
    expect(chunkCountOf(CHUNK + 1, CHUNK)).toBe(2)
    expect(chunkCountOf(10 * CHUNK + 5, CHUNK)).toBe(11)
  })
})

describe('ChunkLayout', () => {
  // a=0 bytes, b=chunk+1, c=0, d=1, e=2*chunk  →  chunks: b0 b1 d0 e0 e1
  const interleaved = layoutManifest([['a', 0], ['b', CHUNK + 1], ['c', 0], ['d', 1], ['e', 2 * CHUNK]])

  it('chunkCount and totalSize', () => {
    const layout = new ChunkLayout(interleaved)
    expect(layout.chunkCount).toBe(5)
    expect(layout.totalSize).toBe(CHUNK + 1 + 1 + 2 * CHUNK)
    expect(layout.manifest).toBe(interleaved)
  })

  it('locates the first and last chunk of each file, skipping empty files', () => {
    const layout = new ChunkLayout(interleaved)
    expect(layout.locate(0)).toEqual({ index: 0, fileIndex: 1, offset: 0, length: CHUNK }) // b first
    expect(layout.locate(1)).toEqual({ index: 1, fileIndex: 1, offset: CHUNK, length: 1 }) // b last, short
    expect(layout.locate(2)).toEqual({ index: 2, fileIndex: 3, offset: 0, length: 1 }) // d only, short
    expect(layout.locate(3)).toEqual({ index: 3, fileIndex: 4, offset: 0, length: CHUNK }) // e first
    expect(layout.locate(4)).toEqual({ index: 4, fileIndex: 4, offset: CHUNK, length: CHUNK }) // e last, full
  })

  it('hashOf returns the 32-byte slice for that chunk', () => {
    const layout = new ChunkLayout(interleaved)
    for (let i = 0; i < layout.chunkCount; i++) {
      const h = layout.hashOf(i)
      expect(h.byteLength).toBe(CHUNK_HASH_LENGTH)
      expect(Array.from(h)).toEqual(new Array(CHUNK_HASH_LENGTH).fill(i))
    }
  })

  it('hashOf on a single big file picks the right slice', () => {
    const m = fileManifest(10 * CHUNK + 5, 11)
    const layout = new ChunkLayout(m)
    expect(layout.chunkCount).toBe(11)
    for (const i of [0, 5, 10]) {
      expect(layout.hashOf(i)).toEqual(m.files[0]!.hashes.subarray(i * 32, i * 32 + 32))
    }
    expect(layout.locate(10)).toEqual({ index: 10, fileIndex: 0, offset: 10 * CHUNK, length: 5 })
  })

  it('matches a linear walk for runs of empty files at the start, middle and end', () => {
    const m = layoutManifest([
      ['a', 0], ['b', 0], ['c', 3 * CHUNK - 7], ['d', 0], ['e', 0], ['f', 0], ['g', CHUNK],
      ['h', 1], ['i', 0], ['j', 2 * CHUNK + 1], ['k', 0], ['l', 0]
    ])
    const layout = new ChunkLayout(m)
    const expected = naiveLocations(m)
    expect(layout.chunkCount).toBe(expected.length)
    for (const loc of expected) {
      expect(layout.locate(loc.index)).toEqual(loc)
      expect(m.files[loc.fileIndex]!.size).toBeGreaterThan(0)
    }
    // the chunk lengths add up to the file sizes
    expect(expected.reduce((n, l) => n + l.length, 0)).toBe(layout.totalSize)
  })

  it('locateRange gives the same locations as locate, from any start, across empty files', () => {
    const m = layoutManifest([
      ['a', 0], ['b', 0], ['c', 3 * CHUNK - 7], ['d', 0], ['e', 0], ['f', 0], ['g', CHUNK],
      ['h', 1], ['i', 0], ['j', 2 * CHUNK + 1], ['k', 0], ['l', 0]
    ])
    const layout = new ChunkLayout(m)
    const expected = naiveLocations(m)
    for (let first = 0; first < expected.length; first++) {
      for (let count = 0; first + count <= expected.length; count++) {
        expect(layout.locateRange(first, count)).toEqual(expected.slice(first, first + count))
      }
    }
    for (const loc of expected) expect(layout.lengthOf(loc.index)).toBe(loc.length)
    expect(Array.from(layout.hashAt(expected[4] as ChunkLocation))).toEqual(Array.from(layout.hashOf(4)))
    expectShoalError(() => layout.locateRange(expected.length - 1, 2), 'PROTOCOL_ERROR')
    expectShoalError(() => layout.locateRange(0, -1), 'PROTOCOL_ERROR')
  })

  it('matches a linear walk with a larger chunk size', () => {
    const cs = 4 * CHUNK
    const m = layoutManifest([['a', cs - 1], ['b', cs], ['c', 0], ['d', cs + 1]], cs)
    const layout = new ChunkLayout(m)
    for (const loc of naiveLocations(m)) expect(layout.locate(loc.index)).toEqual(loc)
  })

  it('rejects out-of-range, negative and non-integer indexes with PROTOCOL_ERROR', () => {
    const layout = new ChunkLayout(interleaved)
    for (const bad of [5, 6, 1e9, -1, -0.5, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      expectShoalError(() => layout.locate(bad), 'PROTOCOL_ERROR')
      expectShoalError(() => layout.hashOf(bad), 'PROTOCOL_ERROR')
    }
  })

  it('a share with no chunks has no valid index', () => {
    for (const m of [fileManifest(0), layoutManifest([['a', 0], ['b', 0]]), dirManifest([])]) {
      const layout = new ChunkLayout(m)
      expect(layout.chunkCount).toBe(0)
      expect(layout.totalSize).toBe(0)
      expectShoalError(() => layout.locate(0), 'PROTOCOL_ERROR')
    }
  })
})

describe('Bitfield', () => {
  it('set / has / count / complete / missing', () => {
    const b = new Bitfield(10)
    expect(b.bytes.byteLength).toBe(2)
    expect(b.count).toBe(0)
    expect(b.complete).toBe(false)
    expect([...b.missing()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

    expect(b.set(0)).toBe(true)
    expect(b.set(0)).toBe(false) // already set: no double counting
    expect(b.set(7)).toBe(true)
    expect(b.set(9)).toBe(true)
    expect(b.count).toBe(3)
    expect(b.has(0)).toBe(true)
    expect(b.has(1)).toBe(false)
    expect(b.has(9)).toBe(true)
    expect([...b.missing()]).toEqual([1, 2, 3, 4, 5, 6, 8])
    // MSB first: bit 0 is 0x80 of byte 0, bit 7 is 0x01, bit 9 is 0x40 of byte 1
    expect(Array.from(b.bytes)).toEqual([0x81, 0x40])

    for (const i of [1, 2, 3, 4, 5, 6, 8]) b.set(i)
    expect(b.count).toBe(10)
    expect(b.complete).toBe(true)
    expect([...b.missing()]).toEqual([])
  })

  it('has() is false outside the range; set() throws outside it', () => {
    const b = Bitfield.full(10)
    expect(b.has(-1)).toBe(false)
    expect(b.has(10)).toBe(false)
    expect(b.has(1000)).toBe(false)
    for (const bad of [-1, 10, 11, 0.5]) expect(() => b.set(bad)).toThrow(RangeError)
  })

  it('full() sets every bit', () => {
    for (const size of [0, 1, 7, 8, 9, 64, 65]) {
      const b = Bitfield.full(size)
      expect(b.count).toBe(size)
      expect(b.complete).toBe(true)
      expect([...b.missing()]).toEqual([])
    }
  })

  it('an empty bitfield is complete', () => {
    const b = new Bitfield(0)
    expect(b.bytes.byteLength).toBe(0)
    expect(b.complete).toBe(true)
    expect(new Bitfield(0, new Uint8Array(0)).count).toBe(0)
  })

  it('ignores (and clears) spare bits in the last byte of received bytes', () => {
    const b = new Bitfield(10, Uint8Array.of(0xff, 0xff))
    expect(b.count).toBe(10)
    expect(b.complete).toBe(true)
    expect(b.has(10)).toBe(false)
    expect(b.has(15)).toBe(false)
    expect(Array.from(b.bytes)).toEqual([0xff, 0xc0])

    const onlySpare = new Bitfield(3, Uint8Array.of(0x1f)) // bits 3..7 are spare
    expect(onlySpare.count).toBe(0)
    expect(onlySpare.complete).toBe(false)
    expect([...onlySpare.missing()]).toEqual([0, 1, 2])

    const partial = new Bitfield(13, Uint8Array.of(0x00, 0xaf)) // 13 bits: byte 1 keeps its top 5 bits (0xa8)
    expect(partial.count).toBe(3)
    expect(Array.from(partial.bytes)).toEqual([0x00, 0xa8])
    expect([...partial.missing()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 9, 11])

    // a multiple of 8 has no spare bits
    expect(new Bitfield(16, Uint8Array.of(0xff, 0xff)).count).toBe(16)
  })

  it('copies the bytes it is given', () => {
    const src = Uint8Array.of(0x00)
    const b = new Bitfield(8, src)
    b.set(0)
    expect(src[0]).toBe(0)
    expect(b.bytes[0]).toBe(0x80)
  })

  it('round-trips through its bytes', () => {
    const a = new Bitfield(21)
    for (const i of [0, 3, 8, 13, 20]) a.set(i)
    const b = new Bitfield(21, a.bytes)
    expect(b.count).toBe(5)
    expect([...b.missing()]).toEqual([...a.missing()])
  })

  it('wrong byte length throws', () => {
    expect(() => new Bitfield(10, new Uint8Array(1))).toThrow(RangeError)
    expect(() => new Bitfield(10, new Uint8Array(3))).toThrow(RangeError)
    expect(() => new Bitfield(8, new Uint8Array(2))).toThrow(RangeError)
    expect(() => new Bitfield(0, new Uint8Array(1))).toThrow(RangeError)
  })
})
