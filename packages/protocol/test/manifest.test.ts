import { describe, it, expect } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import {
  CID, MANIFEST_VERSION, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES, MIN_CHUNK_SIZE, ShoalError,
  contentIdFromBytes, contentIdOf, decodeManifest, encodeManifest, manifestMatches, normalizeManifest,
  parseContentId, sealManifest, totalSizeOf, validateManifest, validateRelativePath, ancestorsOf, comparePaths
} from '../src/index.js'
import type { Manifest } from '../src/index.js'
import {
  CHUNK, concat, dirManifest, expectBytes, expectShoalError, file, fileManifest, hashesFor, rawEncodeManifest
} from './helpers.js'

const SIZES: Array<[string, number, number]> = [
  // label, size, expected chunk count
  ['empty', 0, 0],
  ['one byte', 1, 1],
  ['chunk-1', CHUNK - 1, 1],
  ['exactly one chunk', CHUNK, 1],
  ['chunk+1', CHUNK + 1, 2],
  ['10*chunk+5', 10 * CHUNK + 5, 11]
]

describe('single-file manifests at size boundaries', () => {
  for (const [label, size, chunks] of SIZES) {
    it(`${label} (${size} bytes): round-trips and seals to a stable CID`, async () => {
      const manifest = fileManifest(size, 3)
      expect(manifest.files[0]?.hashes.byteLength).toBe(chunks * 32)

      const bytes = encodeManifest(manifest)
      const decoded = decodeManifest(bytes)
      expect(decoded).toEqual(manifest)
      // decoding then re-encoding gives the very same bytes
      expectBytes(encodeManifest(decoded), bytes)
      expect(totalSizeOf(decoded)).toBe(size)

      const a = await sealManifest(manifest)
      const b = await sealManifest(fileManifest(size, 3))
      expectBytes(a.bytes, bytes)
      expect(a.cid.equals(b.cid)).toBe(true)
      expect(a.cid.toString()).toBe(b.cid.toString())
      expect(a.cid.version).toBe(1)
      expect(a.cid.code).toBe(dagCbor.code)
      expect(a.cid.multihash.code).toBe(sha256.code)

      const text = a.cid.toString()
      expect(text.startsWith('b')).toBe(true)
      expect(parseContentId(text).equals(a.cid)).toBe(true)
      expect(parseContentId(`  ${text}\n`).equals(a.cid)).toBe(true)
      expect(contentIdFromBytes(a.cid.bytes).equals(a.cid)).toBe(true)
      expect((await contentIdOf(bytes)).equals(a.cid)).toBe(true)
      expect(await manifestMatches(a.cid, bytes)).toBe(true)

      if (chunks > 0) {
        // flip one bit in the last hash byte: different bytes, different CID
        const changed = fileManifest(size, 3)
        const hashes = changed.files[0]!.hashes
        hashes[hashes.byteLength - 1] = (hashes[hashes.byteLength - 1]! ^ 0x01)
        const c = await sealManifest(changed)
        expect(c.cid.equals(a.cid)).toBe(false)
        expect(await manifestMatches(a.cid, c.bytes)).toBe(false)
      }
    })
  }

  it('different sizes give different CIDs, even with the same chunk count', async () => {
    const cids = new Set<string>()
    for (const size of [1, 2, CHUNK - 1, CHUNK]) {
      cids.add((await sealManifest(fileManifest(size))).cid.toString())
    }
    expect(cids.size).toBe(4)
  })

  it('the chunk size is part of the identity', async () => {
    const a = await sealManifest(fileManifest(1, 0, MIN_CHUNK_SIZE))
    const b = await sealManifest(fileManifest(1, 0, MIN_CHUNK_SIZE * 2))
    expect(a.cid.equals(b.cid)).toBe(false)
    expect(decodeManifest(b.bytes).chunkSize).toBe(MIN_CHUNK_SIZE * 2)
  })

  it('accepts every power-of-two chunk size in range', () => {
    for (let cs = MIN_CHUNK_SIZE; cs <= MAX_CHUNK_SIZE; cs *= 2) {
      const m = fileManifest(3 * cs + 1, 0, cs)
      expect(m.files[0]!.hashes.byteLength).toBe(4 * 32)
      expect(decodeManifest(encodeManifest(m))).toEqual(m)
    }
  })
})

describe('directory manifests', () => {
  // deliberately out of order; covers nested dirs, an empty file, empty dirs,
  // and ordering traps: '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), upper case before lower
  const unsorted = (): Manifest => dirManifest(
    [
      file('z', 1, 1),
      file('docs/sub/deep/x.bin', CHUNK + 1, 2),
      file('a/b', 3, 3),
      file('docs/empty', 0, 4),
      file('a-b', CHUNK, 5),
      file('B', 10, 6),
      file('a.txt', 2 * CHUNK, 7)
    ],
    ['empty-dir', 'docs/sub/void', 'a/c/d']
  )

  it('normalizeManifest sorts files and dirs by path without mutating its input', () => {
    const input = unsorted()
    const before = input.files.map(f => f.path)
    const normal = normalizeManifest(input)
    expect(normal.files.map(f => f.path)).toEqual(['B', 'a-b', 'a.txt', 'a/b', 'docs/empty', 'docs/sub/deep/x.bin', 'z'])
    expect(normal.dirs).toEqual(['a/c/d', 'docs/sub/void', 'empty-dir'])
    expect(input.files.map(f => f.path)).toEqual(before)
    // entries keep their own sizes and hashes
    expect(normal.files.find(f => f.path === 'a.txt')).toBe(input.files.find(f => f.path === 'a.txt'))
  })

  it('the unsorted input is rejected; the normalized one round-trips', async () => {
    expectShoalError(() => encodeManifest(unsorted()), 'INVALID_MANIFEST')
    const normal = normalizeManifest(unsorted())
    const bytes = encodeManifest(normal)
    expect(decodeManifest(bytes)).toEqual(normal)
    expect(totalSizeOf(normal)).toBe(1 + CHUNK + 1 + 3 + 0 + CHUNK + 10 + 2 * CHUNK)
    const { cid } = await sealManifest(normal)
    expect(parseContentId(cid.toString()).equals(cid)).toBe(true)
  })

  it('the CID does not depend on the order the builder listed entries in', async () => {
    const a = normalizeManifest(unsorted())
    const reversed = unsorted()
    reversed.files.reverse()
    reversed.dirs.reverse()
    const b = normalizeManifest(reversed)
    expect((await sealManifest(a)).cid.equals((await sealManifest(b)).cid)).toBe(true)
  })

  it('kind is part of the identity: same bytes as file vs one-file dir differ', async () => {
    const single = await sealManifest(fileManifest(5))
    const dir = await sealManifest(dirManifest([file('x', 5)]))
    expect(single.cid.equals(dir.cid)).toBe(false)
  })

  it('accepts an empty directory share and a share of only empty dirs', () => {
    for (const m of [dirManifest([], []), dirManifest([], ['a', 'b/c'])]) {
      expect(decodeManifest(encodeManifest(m))).toEqual(m)
    }
  })

  it('accepts a 255-byte segment and multi-byte UTF-8 names', () => {
    const m = normalizeManifest(dirManifest([file('a'.repeat(255), 0), file('日本/ファイル.txt', 4), file('é'.repeat(127), 1)]))
    expect(decodeManifest(encodeManifest(m))).toEqual(m)
  })
})

describe('manifest rejections (INVALID_MANIFEST)', () => {
  /** Check validate, encode, and decode-of-raw-bytes all reject `m`. */
  const rejects = (m: Manifest): void => {
    expectShoalError(() => validateManifest(m), 'INVALID_MANIFEST')
    expectShoalError(() => encodeManifest(m), 'INVALID_MANIFEST')
    let raw: Uint8Array | undefined
    try { raw = rawEncodeManifest(m) } catch { /* dag-cbor cannot encode it (e.g. NaN); nothing to decode */ }
    if (raw !== undefined) expectShoalError(() => decodeManifest(raw), 'INVALID_MANIFEST')
  }

  const badPaths: Array<[string, string]> = [
    ['..', 'dot-dot'],
    ['../a', 'leading dot-dot'],
    ['a/..', 'trailing dot-dot'],
    ['a/../b', 'inner dot-dot'],
    ['.', 'dot'],
    ['a/./b', 'inner dot'],
    ['/x', 'absolute'],
    ['/', 'root'],
    ['a\0b', 'NUL'],
    ['a\\b', 'backslash'],
    ['..\\x', 'windows traversal'],
    ['a//b', 'empty segment'],
    ['a/', 'trailing slash'],
    ['', 'empty path in a dir manifest'],
    ['a'.repeat(256), 'segment over 255 bytes'],
    ['é'.repeat(128), 'segment over 255 UTF-8 bytes (128 chars)'],
    [Array.from({ length: 17 }, () => 'a'.repeat(255)).join('/'), 'path over 4096 bytes']
  ]

  for (const [path, why] of badPaths) {
    it(`file path ${why}`, () => {
      rejects(dirManifest([file(path, 1)]))
      expectShoalError(() => validateRelativePath(path), 'INVALID_MANIFEST')
    })
    it(`dir path ${why}`, () => {
      rejects(dirManifest([], [path]))
    })
  }

  it('validateRelativePath accepts ordinary relative paths', () => {
    for (const p of ['a', 'a/b/c', '.hidden', 'a/..b', '...', 'a b/c', 'x'.repeat(255)]) {
      expect(() => validateRelativePath(p)).not.toThrow()
    }
  })

  it('duplicate file paths', () => {
    rejects(dirManifest([file('a', 1), file('a', 1)]))
  })

  it('duplicate dir paths', () => {
    rejects(dirManifest([], ['d', 'd']))
  })

  it('a file that is also the parent dir of another file', () => {
    rejects(dirManifest([file('a', 1), file('a/b', 1)]))
    rejects(dirManifest([file('a', 0), file('a/b/c', 0)]))
  })

  it('a file that is also the parent of an empty dir', () => {
    rejects(dirManifest([file('a', 1)], ['a/d']))
  })

  it('a dir equal to a file path', () => {
    rejects(dirManifest([file('a', 1)], ['a']))
  })

  it('files not in canonical order', () => {
    rejects(dirManifest([file('b', 1), file('a', 1)]))
    rejects(dirManifest([file('a/b', 1), file('a-b', 1)])) // '-' < '/'
  })

  it('dirs not in canonical order', () => {
    rejects(dirManifest([], ['b', 'a']))
  })

  it('wrong hash byte length', () => {
    rejects(dirManifest([{ path: 'a', size: 1, hashes: new Uint8Array(31) }]))
    rejects(dirManifest([{ path: 'a', size: 1, hashes: new Uint8Array(64) }]))
    rejects(dirManifest([{ path: 'a', size: 0, hashes: new Uint8Array(32) }]))
    rejects(dirManifest([{ path: 'a', size: CHUNK + 1, hashes: hashesFor(CHUNK) }]))
    rejects({ ...fileManifest(CHUNK), files: [{ path: '', size: CHUNK, hashes: new Uint8Array(0) }] })
  })

  it('hashes that are not bytes', () => {
    const m = dirManifest([{ path: 'a', size: 1, hashes: Array.from(new Uint8Array(32)) as unknown as Uint8Array }])
    rejects(m)
  })

  it('negative, fractional, and unsafe sizes', () => {
    rejects(dirManifest([{ path: 'a', size: -1, hashes: new Uint8Array(0) }]))
    rejects(dirManifest([{ path: 'a', size: 1.5, hashes: new Uint8Array(64) }]))
    rejects(dirManifest([{ path: 'a', size: 0.5, hashes: new Uint8Array(32) }]))
    rejects(dirManifest([{ path: 'a', size: 2 ** 53, hashes: new Uint8Array(32) }]))
    rejects(fileManifestWithSize(-CHUNK))
  })

  it('chunk size not a power of two, or out of range', () => {
    for (const cs of [0, -CHUNK, MIN_CHUNK_SIZE / 2, MAX_CHUNK_SIZE * 2, 3 * 128 * 1024, MIN_CHUNK_SIZE + 1, MIN_CHUNK_SIZE + 0.5, MAX_CHUNK_SIZE - 1]) {
      rejects({ ...fileManifest(0), chunkSize: cs })
    }
    rejects({ ...fileManifest(0), chunkSize: Number.NaN })
  })

  it('unsupported version and unknown kind', () => {
    rejects({ ...fileManifest(1), version: MANIFEST_VERSION + 1 })
    rejects({ ...fileManifest(1), version: 0 })
    rejects({ ...fileManifest(1), kind: 'symlink' as 'file' })
  })

  it("kind 'file' must hold exactly one file with path ''", () => {
    rejects({ ...fileManifest(1), files: [file('x', 1)] })
    rejects({ ...fileManifest(1), files: [] })
    rejects({ ...fileManifest(1), files: [file('', 1), file('', 1)] })
    rejects({ ...fileManifest(1), dirs: ['d'] })
  })

  it('files/dirs that are not lists', () => {
    expectShoalError(() => validateManifest({ ...fileManifest(1), dirs: 'x' as unknown as string[] }), 'INVALID_MANIFEST')
    expectShoalError(() => validateManifest({ ...dirManifest([]), files: {} as unknown as [] }), 'INVALID_MANIFEST')
  })
})

function fileManifestWithSize (size: number): Manifest {
  return { ...fileManifest(0), files: [{ path: '', size, hashes: new Uint8Array(0) }] }
}

describe('decodeManifest rejects bytes that are not a canonical manifest', () => {
  const valid = fileManifest(CHUNK + 1, 9)
  const enc = (x: unknown): Uint8Array => dagCbor.encode(x)
  const fileEntry = valid.files.map(f => ({ path: f.path, size: f.size, hashes: f.hashes }))

  it('sanity: the hand-built canonical encoding is accepted', () => {
    // canonical dag-cbor key order: by length, then bytewise
    const bytes = concat([0xa5], enc('v'), enc(1), enc('dirs'), enc([]), enc('kind'), enc('file'), enc('files'), enc(fileEntry), enc('chunkSize'), enc(CHUNK))
    expectBytes(bytes, encodeManifest(valid))
    expect(decodeManifest(bytes)).toEqual(valid)
  })

  it('unknown top-level field', () => {
    const e = expectShoalError(() => decodeManifest(rawEncodeManifest(valid, { name: 'movie.mkv' })), 'INVALID_MANIFEST')
    expect(e.message).toMatch(/unknown field/)
  })

  it('__proto__ as a top-level field', () => {
    const bytes = concat([0xa6], enc('v'), enc(1), enc('dirs'), enc([]), enc('kind'), enc('file'), enc('files'), enc(fileEntry), enc('__proto__'), enc({}), enc('chunkSize'), enc(CHUNK))
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('unknown file field', () => {
    const bytes = enc({ v: 1, kind: 'file', chunkSize: CHUNK, files: [{ ...fileEntry[0], mode: 0o644 }], dirs: [] })
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('missing fields and wrongly typed fields', () => {
    const base = { v: 1, kind: 'file', chunkSize: CHUNK, files: fileEntry, dirs: [] as unknown }
    const variants: unknown[] = [
      (({ dirs: _d, ...rest }) => rest)(base),
      (({ files: _f, ...rest }) => rest)(base),
      (({ v: _v, ...rest }) => rest)(base),
      (({ chunkSize: _c, ...rest }) => rest)(base),
      { ...base, v: '1' },
      { ...base, kind: 'FILE' },
      { ...base, chunkSize: String(CHUNK) },
      { ...base, files: { 0: fileEntry[0] } },
      { ...base, dirs: {} },
      { ...base, dirs: [1] },
      { ...base, files: [null] },
      { ...base, files: [[fileEntry[0]]] },
      { ...base, files: [{ ...fileEntry[0], path: null }] },
      { ...base, files: [{ ...fileEntry[0], size: '262145' }] },
      { ...base, files: [{ ...fileEntry[0], hashes: Array.from(fileEntry[0]!.hashes) }] },
      { ...base, files: [{ ...fileEntry[0], hashes: 'aa' }] },
      { ...base, files: [{ ...fileEntry[0], size: 2n ** 60n }] } // decodes as a bigint
    ]
    for (const v of variants) {
      expectShoalError(() => decodeManifest(enc(v)), 'INVALID_MANIFEST')
    }
  })

  it('top level that is not a map', async () => {
    const cid = await contentIdOf(encodeManifest(valid))
    for (const v of [[1, 2], 'manifest', 1, null, new Uint8Array(4), true, cid]) {
      expectShoalError(() => decodeManifest(enc(v)), 'INVALID_MANIFEST')
    }
  })

  it('map keys out of canonical order', () => {
    const bytes = concat([0xa5], enc('v'), enc(1), enc('kind'), enc('file'), enc('chunkSize'), enc(CHUNK), enc('files'), enc(fileEntry), enc('dirs'), enc([]))
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('integral value encoded as a float', () => {
    const f64 = new Uint8Array(9)
    f64[0] = 0xfb
    new DataView(f64.buffer).setFloat64(1, CHUNK)
    const bytes = concat([0xa5], enc('v'), enc(1), enc('dirs'), enc([]), enc('kind'), enc('file'), enc('files'), enc(fileEntry), enc('chunkSize'), f64)
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('non-minimal integer encoding', () => {
    const bytes = concat([0xa5], enc('v'), [0x18, 0x01], enc('dirs'), enc([]), enc('kind'), enc('file'), enc('files'), enc(fileEntry), enc('chunkSize'), enc(CHUNK))
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('duplicate map key', () => {
    const bytes = concat([0xa6], enc('v'), enc(1), enc('v'), enc(1), enc('dirs'), enc([]), enc('kind'), enc('file'), enc('files'), enc(fileEntry), enc('chunkSize'), enc(CHUNK))
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('indefinite-length containers', () => {
    const bytes = concat([0xbf], enc('v'), enc(1), enc('dirs'), enc([]), enc('kind'), enc('file'), enc('files'), enc(fileEntry), enc('chunkSize'), enc(CHUNK), [0xff])
    expectShoalError(() => decodeManifest(bytes), 'INVALID_MANIFEST')
  })

  it('trailing bytes after a valid manifest, and a truncated one', () => {
    const good = encodeManifest(valid)
    expectShoalError(() => decodeManifest(concat(good, [0x00])), 'INVALID_MANIFEST')
    expectShoalError(() => decodeManifest(good.subarray(0, good.byteLength - 1)), 'INVALID_MANIFEST')
  })

  it('garbage bytes', () => {
    const garbage = [
      new Uint8Array(0),
      Uint8Array.of(0xff),
      Uint8Array.of(0xff, 0x00),
      new TextEncoder().encode('{"v":1,"kind":"file"}'),
      new Uint8Array(64).fill(0xa5),
      Uint8Array.of(0xa1, 0x61, 0x76) // map with a key and no value
    ]
    for (const g of garbage) expectShoalError(() => decodeManifest(g), 'INVALID_MANIFEST')
  })

  it('bytes larger than MAX_MANIFEST_BYTES are refused without decoding', () => {
    const e = expectShoalError(() => decodeManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1)), 'INVALID_MANIFEST')
    expect(e.message).toMatch(/limit/)
  })

  it('errors are ShoalErrors with a JSON form', () => {
    try {
      decodeManifest(Uint8Array.of(0xff))
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(ShoalError)
      expect((err as ShoalError).toJSON()).toEqual({ code: 'INVALID_MANIFEST', message: (err as Error).message })
    }
  })
})

describe('content ids', () => {
  it('rejects ids that are not CIDv1 dag-cbor sha2-256', async () => {
    const digest = await sha256.digest(new Uint8Array([1, 2, 3]))
    const raw = CID.createV1(0x55, digest)
    const v0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
    const sha512Cid = CID.createV1(dagCbor.code, await sha512.digest(new Uint8Array([1])))
    for (const text of ['', 'hello', 'bafy', v0, raw.toString(), sha512Cid.toString(), 'shoal1abc']) {
      expectShoalError(() => parseContentId(text), 'INVALID_ID')
    }
    expectShoalError(() => contentIdFromBytes(raw.bytes), 'INVALID_ID')
    expectShoalError(() => contentIdFromBytes(Uint8Array.of(1, 2, 3)), 'INVALID_ID')
    const good = await contentIdOf(Uint8Array.of(1))
    expectShoalError(() => contentIdFromBytes(concat(good.bytes, [0])), 'INVALID_ID')
  })
})

describe('path helpers', () => {
  it('ancestorsOf lists proper ancestors, outermost first', () => {
    expect(ancestorsOf('a')).toEqual([])
    expect(ancestorsOf('a/b/c')).toEqual(['a', 'a/b'])
  })

  it('comparePaths is a total order consistent with Array.sort', () => {
    expect(comparePaths('a', 'a')).toBe(0)
    expect(comparePaths('a', 'b')).toBeLessThan(0)
    expect(comparePaths('b', 'a')).toBeGreaterThan(0)
    expect(comparePaths('a-b', 'a/b')).toBeLessThan(0)
    expect(comparePaths('Z', 'a')).toBeLessThan(0)
  })
})
