/**
 * Property tests: decoders fed hostile input must either return something
 * that passes every check, or throw a ShoalError with the documented code.
 * Never a TypeError, RangeError, or a silently accepted bad value.
 */
import { describe, it, expect, beforeAll } from 'vitest'
import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import {
  CHUNK_HASH_LENGTH, MAX_CHUNK_SIZE, MAX_TICKET_ADDRS, MIN_CHUNK_SIZE, ShoalError, TICKET_PREFIX, XferMessage,
  chunkCountOf, decodeManifest, decodeTicket, decodeXfer, encodeManifest, encodeTicket, encodeXfer, frame,
  normalizeManifest, parseContentId, readFrames, sealManifest, validateManifest
} from '../src/index.js'
import type { ErrorCode, Manifest, Ticket } from '../src/index.js'
import { CHUNK, concat, dirManifest, file, fileManifest } from './helpers.js'

const RUNS = 2000

/** Either `fn` returns (and `check` holds for the result) or it throws a ShoalError with `code`. */
function outcome<T> (fn: () => T, code: ErrorCode, check: (value: T) => void): void {
  let value: T
  try {
    value = fn()
  } catch (err) {
    if (!(err instanceof ShoalError)) throw new Error(`threw a non-ShoalError: ${String(err)}`, { cause: err })
    expect(err.code).toBe(code)
    return
  }
  check(value)
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
}

// ---------------------------------------------------------------------------
// byte mutations

type Mutation =
  | { op: 'flip', pos: number, xor: number }
  | { op: 'set', pos: number, byte: number }
  | { op: 'insert', pos: number, byte: number }
  | { op: 'delete', pos: number }
  | { op: 'truncate', pos: number }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), pos: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('set' as const), pos: fc.nat(), byte: fc.constantFrom(0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x40, 0x58, 0x60, 0x78, 0x80, 0x9f, 0xa0, 0xbf, 0xf4, 0xf6, 0xf7, 0xfa, 0xfb, 0xff) }),
  fc.record({ op: fc.constant('insert' as const), pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat() }),
  fc.record({ op: fc.constant('truncate' as const), pos: fc.nat() })
)

function mutate (input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(input)
  for (const m of mutations) {
    const len = bytes.byteLength
    const pos = len === 0 ? 0 : m.pos % len
    switch (m.op) {
      case 'flip': if (len > 0) bytes[pos] = bytes[pos]! ^ m.xor; break
      case 'set': if (len > 0) bytes[pos] = m.byte; break
      case 'insert': bytes = concat(bytes.subarray(0, pos), [m.byte], bytes.subarray(pos)); break
      case 'delete': if (len > 0) bytes = concat(bytes.subarray(0, pos), bytes.subarray(pos + 1)); break
      case 'truncate': bytes = bytes.slice(0, pos); break
    }
  }
  return bytes
}

// ---------------------------------------------------------------------------
// manifests

function checkManifestBytes (bytes: Uint8Array): void {
  const reference = referenceDecode(bytes)
  outcome(() => decodeManifest(bytes), 'INVALID_MANIFEST', m => {
    expect(() => validateManifest(m)).not.toThrow()
    // only canonical bytes are accepted: re-encoding reproduces the input exactly
    expect(sameBytes(encodeManifest(m), bytes)).toBe(true)
    expect(reference, 'accepted bytes that @ipld/dag-cbor\'s canonical form rejects').toBeDefined()
    expect(m).toEqual(reference)
  })
  // and rejects none that it accepts
  if (reference !== undefined) expect(() => decodeManifest(bytes)).not.toThrow()
}

/**
 * The manifest reader as it was before manifest-cbor.ts, on @ipld/dag-cbor:
 * decode, check the shape, validate, and accept only if encoding again gives
 * the same bytes. Undefined where it rejects.
 */
function referenceDecode (bytes: Uint8Array): Manifest | undefined {
  try {
    const raw = dagCbor.decode(bytes) as Record<string, unknown>
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) return undefined
    if (Object.keys(raw).some(k => !['v', 'kind', 'chunkSize', 'files', 'dirs'].includes(k))) return undefined
    const { v, kind, chunkSize, files, dirs } = raw
    if (typeof v !== 'number' || (kind !== 'file' && kind !== 'dir') || typeof chunkSize !== 'number' || !Array.isArray(files) || !Array.isArray(dirs)) return undefined
    const outFiles = (files as unknown[]).map(f => {
      const e = f as Record<string, unknown>
      if (typeof e !== 'object' || e === null || Array.isArray(e) || Object.keys(e).some(k => !['path', 'size', 'hashes'].includes(k))) throw new Error('shape')
      if (typeof e.path !== 'string' || typeof e.size !== 'number' || !(e.hashes instanceof Uint8Array)) throw new Error('shape')
      return { path: e.path, size: e.size, hashes: e.hashes }
    })
    if ((dirs as unknown[]).some(d => typeof d !== 'string')) return undefined
    const m: Manifest = { version: v, kind, chunkSize, files: outFiles, dirs: dirs as string[] }
    validateManifest(m)
    const again = dagCbor.encode({ v, kind, chunkSize, files: outFiles.map(f => ({ path: f.path, size: f.size, hashes: f.hashes })), dirs })
    return sameBytes(again, bytes) ? m : undefined
  } catch {
    return undefined
  }
}

const seedManifests: Manifest[] = [
  fileManifest(0),
  fileManifest(1, 1),
  fileManifest(CHUNK + 1, 2),
  fileManifest(3 * CHUNK, 3, 2 * CHUNK),
  normalizeManifest(dirManifest([file('a', 1), file('b/c', 0), file('b/d', CHUNK + 1, 4), file('é', 2)], ['e', 'f/g'])),
  dirManifest([], ['x'])
]
const seedManifestBytes = seedManifests.map(m => encodeManifest(m))

/** Values that are plausible (or plausibly wrong) for manifest fields. */
const fieldValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, 1, 2, -1, 0.5, MIN_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE * 3, 'file', 'dir', '', 'a', '..', 'a/b', null, true),
  fc.uint8Array({ maxLength: 70 }),
  fc.string({ maxLength: 6 })
)
const fileEntryArb = fc.dictionary(fc.constantFrom('path', 'size', 'hashes', 'extra'), fieldValueArb, { maxKeys: 4 })
const manifestLikeArb: fc.Arbitrary<unknown> = fc.dictionary(
  fc.constantFrom('v', 'kind', 'chunkSize', 'files', 'dirs', 'name'),
  fc.oneof(fieldValueArb, fc.array(fileEntryArb, { maxLength: 3 }), fc.array(fc.constantFrom('a', 'b', 'a/b', '', '.', 'x/'), { maxLength: 3 })),
  { maxKeys: 6 }
)

/** Valid directory manifests: file names end in '.f' and dir segments never do, so no file is anyone's parent. */
const dirSegment = fc.constantFrom('a', 'b', 'B', 'c d', 'é', 'x-y', '日本', '😀', '\uFEFFbom')
const fileName = fc.constantFrom('x.f', 'y.f', 'Z.f', '.f')
const sizeArb = fc.constantFrom(0, 1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7)
const validDirManifestArb: fc.Arbitrary<Manifest> = fc.record({
  files: fc.uniqueArray(
    fc.record({ dirs: fc.array(dirSegment, { maxLength: 3 }), name: fileName, size: sizeArb, seed: fc.nat(255) }),
    { maxLength: 8, selector: f => [...f.dirs, f.name].join('/') }
  ),
  dirs: fc.uniqueArray(fc.array(dirSegment, { minLength: 1, maxLength: 3 }).map(s => s.join('/')), { maxLength: 3 })
}).map(({ files, dirs }) => {
  const filePaths = files.map(f => [...f.dirs, f.name].join('/'))
  // `dirs` holds only empty leaf directories: drop any that hold a file or
  // another listed dir, or that collide with a file or a file's parent
  const all = [...filePaths, ...dirs]
  const leafDirs = dirs.filter(d => !all.some(p => p !== d && p.startsWith(d + '/')) &&
    !filePaths.some(p => p === d || d.startsWith(p + '/')))
  return dirManifest(files.map(f => file([...f.dirs, f.name].join('/'), f.size, f.seed)), leafDirs)
})

describe('fuzz: decodeManifest', () => {
  it('arbitrary bytes: a valid canonical manifest or INVALID_MANIFEST', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), checkManifestBytes), { numRuns: RUNS })
  })

  it('arbitrary dag-cbor maps shaped like a manifest', () => {
    fc.assert(fc.property(manifestLikeArb, value => {
      checkManifestBytes(dagCbor.encode(value))
    }), { numRuns: RUNS })
  })

  it('mutated valid encodings', () => {
    fc.assert(fc.property(
      fc.constantFrom(...seedManifestBytes),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      (bytes, mutations) => { checkManifestBytes(mutate(bytes, mutations)) }
    ), { numRuns: RUNS })
  })

  it('writes the bytes @ipld/dag-cbor writes, for every valid manifest (sizes across the integer encodings, non-ASCII paths)', () => {
    const big = (size: number): Manifest => ({ ...fileManifest(0), files: [{ path: '', size, hashes: new Uint8Array(chunkCountOf(size, MAX_CHUNK_SIZE) * CHUNK_HASH_LENGTH) }], chunkSize: MAX_CHUNK_SIZE })
    for (const size of [23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 36 + 3]) {
      const m = big(size)
      expect(sameBytes(encodeManifest(m), dagCbor.encode({ v: m.version, kind: m.kind, chunkSize: m.chunkSize, files: m.files, dirs: m.dirs }))).toBe(true)
      expect(decodeManifest(encodeManifest(m))).toEqual(m)
    }
    fc.assert(fc.property(validDirManifestArb, raw => {
      const m = normalizeManifest(raw)
      expect(sameBytes(encodeManifest(m), dagCbor.encode({ v: m.version, kind: m.kind, chunkSize: m.chunkSize, files: m.files, dirs: m.dirs }))).toBe(true)
    }), { numRuns: 500 })
  })

  it('valid directory manifests round-trip, and the CID ignores input order', async () => {
    await fc.assert(fc.asyncProperty(validDirManifestArb, fc.nat(), async (raw, shuffleSeed) => {
      const m = normalizeManifest(raw)
      const bytes = encodeManifest(m)
      expect(decodeManifest(bytes)).toEqual(m)
      // rotate the input lists: normalizing again gives the same identity
      const rot = <T>(xs: T[]): T[] => xs.length === 0 ? xs : [...xs.slice(shuffleSeed % xs.length), ...xs.slice(0, shuffleSeed % xs.length)]
      const again = normalizeManifest({ ...raw, files: rot(raw.files), dirs: rot(raw.dirs) })
      const [a, b] = await Promise.all([sealManifest(m), sealManifest(again)])
      expect(a.cid.equals(b.cid)).toBe(true)
      // hash bytes line up with sizes
      for (const f of m.files) expect(f.hashes.byteLength).toBe(chunkCountOf(f.size, m.chunkSize) * CHUNK_HASH_LENGTH)
    }), { numRuns: 300 })
  })
})

// ---------------------------------------------------------------------------
// xfer messages

const T = XferMessage.Type
const KNOWN_TYPES = Object.values(T).filter(t => t !== T.UNKNOWN)

function checkXfer (bytes: Uint8Array): void {
  outcome(() => decodeXfer(bytes), 'PROTOCOL_ERROR', msg => {
    expect(KNOWN_TYPES).toContain(msg.type)
    expect(msg.root).toBeInstanceOf(Uint8Array)
    expect(msg.data).toBeInstanceOf(Uint8Array)
    expect(typeof msg.message).toBe('string')
    if (msg.index !== undefined) {
      expect(Number.isInteger(msg.index) && msg.index >= 0 && msg.index <= 0xffffffff).toBe(true)
    }
    if ([T.HAVE, T.REQUEST, T.BLOCK, T.CANCEL].includes(msg.type)) expect(msg.index).toBeDefined()
    if (msg.type === T.HELLO) expect(msg.root.byteLength > 0 && msg.root.byteLength <= 128).toBe(true)
    if (msg.type === T.BLOCK || msg.type === T.BITFIELD) expect(msg.data.byteLength).toBeLessThanOrEqual(MAX_CHUNK_SIZE)
    // what we accept, we can re-encode and accept again identically
    const again = decodeXfer(encodeXfer(msg))
    expect(again.type).toBe(msg.type)
    expect(again.index).toBe(msg.index)
    expect(sameBytes(again.root, msg.root) && sameBytes(again.data, msg.data)).toBe(true)
    expect(again.message).toBe(msg.message)
  })
}

/** Protobuf-ish byte soup: a sequence of (tag, payload) with plausible field numbers and wire types. */
const protoFieldArb = fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 12 }))
  .map(([field, wire, payload]) => concat([(field << 3) | wire], payload))
const protoishArb = fc.array(protoFieldArb, { maxLength: 6 }).map(parts => concat(...parts))

const validXferArb = fc.oneof(
  fc.record({ type: fc.constant(T.HELLO), root: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ type: fc.constantFrom(T.HAVE, T.REQUEST, T.CANCEL), index: fc.nat({ max: 0xffffffff }) }),
  fc.record({ type: fc.constant(T.BLOCK), index: fc.nat({ max: 0xffffffff }), data: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ type: fc.constant(T.BITFIELD), data: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ type: fc.constantFrom(T.HAVE_ALL, T.NOT_FOUND, T.ERROR), message: fc.string({ maxLength: 20 }) })
)

describe('fuzz: decodeXfer', () => {
  it('arbitrary bytes: a well-formed message or PROTOCOL_ERROR', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), checkXfer), { numRuns: RUNS })
  })

  it('protobuf-shaped byte soup', () => {
    fc.assert(fc.property(protoishArb, checkXfer), { numRuns: RUNS })
  })

  it('valid messages round-trip; mutated ones are accepted only if well-formed', () => {
    fc.assert(fc.property(validXferArb, fc.array(mutationArb, { maxLength: 3 }), (msg, mutations) => {
      const bytes = encodeXfer(msg)
      if (mutations.length === 0) {
        const back = decodeXfer(bytes)
        expect(back.type).toBe(msg.type)
        expect(back.index).toBe((msg as { index?: number }).index)
      }
      checkXfer(mutate(bytes, mutations))
    }), { numRuns: RUNS })
  })
})

// ---------------------------------------------------------------------------
// tickets

let validTickets: string[] = []

beforeAll(async () => {
  const cids = await Promise.all([fileManifest(1), fileManifest(CHUNK * 2 + 1, 5)].map(async m => (await sealManifest(m)).cid))
  const tickets: Ticket[] = [
    { cid: cids[0]!, peerId: '12D3KooWGRUVh3CiZzv9YCKWfN8Lp2SNVEmpcmkDXrzK4vp3ZWNT', addrs: ['/ip4/1.2.3.4/tcp/4001'], name: 'a.txt' },
    { cid: cids[1]!, peerId: 'QmPeer', addrs: [] },
    { cid: cids[1]!, peerId: 'p', addrs: ['/ip6/::1/udp/1/quic-v1', '/dns4/x.y/tcp/443/wss'], name: 'dir 📁' }
  ]
  validTickets = tickets.map(encodeTicket)
})

function checkTicket (text: string): void {
  outcome(() => decodeTicket(text), 'INVALID_TICKET', t => {
    expect(parseContentId(t.cid.toString()).equals(t.cid)).toBe(true)
    expect(typeof t.peerId === 'string' && t.peerId.length > 0 && t.peerId.length <= 128).toBe(true)
    expect(Array.isArray(t.addrs) && t.addrs.length <= MAX_TICKET_ADDRS).toBe(true)
    for (const a of t.addrs) expect(typeof a === 'string' && a.length < 1024).toBe(true)
    if (t.name !== undefined) expect(typeof t.name === 'string' && t.name.length <= 255).toBe(true)
    const again = decodeTicket(encodeTicket(t))
    expect(again.cid.equals(t.cid)).toBe(true)
    expect(again.peerId).toBe(t.peerId)
    expect(again.addrs).toEqual(t.addrs)
    expect(again.name ?? '').toBe(t.name ?? '')
  })
}

const base32Char = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz234567')

type TextMutation = { op: 'replace', pos: number, ch: string } | { op: 'delete', pos: number } | { op: 'insert', pos: number, ch: string } | { op: 'truncate', pos: number }
const textMutationArb: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), pos: fc.nat(), ch: fc.oneof(base32Char, fc.constantFrom('A', '1', '=', ' ', '\n', 'é')) }),
  fc.record({ op: fc.constant('delete' as const), pos: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), pos: fc.nat(), ch: base32Char }),
  fc.record({ op: fc.constant('truncate' as const), pos: fc.nat() })
)

function mutateText (text: string, mutations: TextMutation[]): string {
  let s = text
  for (const m of mutations) {
    const pos = s.length === 0 ? 0 : m.pos % s.length
    switch (m.op) {
      case 'replace': s = s.slice(0, pos) + m.ch + s.slice(pos + 1); break
      case 'delete': s = s.slice(0, pos) + s.slice(pos + 1); break
      case 'insert': s = s.slice(0, pos) + m.ch + s.slice(pos); break
      case 'truncate': s = s.slice(0, pos); break
    }
  }
  return s
}

describe('fuzz: decodeTicket', () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), checkTicket), { numRuns: RUNS })
  })

  it('prefix + arbitrary base32', () => {
    fc.assert(fc.property(fc.string({ unit: base32Char, maxLength: 200 }), body => { checkTicket(TICKET_PREFIX + body) }), { numRuns: RUNS })
  })

  it('prefix + base32 of arbitrary dag-cbor maps shaped like a ticket', () => {
    const ticketLike = fc.dictionary(
      fc.constantFrom('v', 'cid', 'peer', 'addrs', 'name', 'x'),
      fc.oneof(
        fc.constantFrom(1, 2, 0, '', 'p', null),
        fc.uint8Array({ maxLength: 40 }),
        fc.string({ maxLength: 10 }),
        fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 3 })
      ),
      { maxKeys: 6 }
    )
    fc.assert(fc.property(ticketLike, body => {
      checkTicket(TICKET_PREFIX + encodeBase32(dagCbor.encode(body)))
    }), { numRuns: RUNS })
  })

  it('mutated valid tickets', () => {
    fc.assert(fc.property(
      fc.constantFrom(...validTickets),
      fc.array(textMutationArb, { minLength: 1, maxLength: 3 }),
      (text, mutations) => { checkTicket(mutateText(text, mutations)) }
    ), { numRuns: RUNS })
  })
})

/** RFC 4648 base32, lower case, no padding (same as the ticket body). */
function encodeBase32 (bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) { out += alphabet[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return out
}

// ---------------------------------------------------------------------------
// framing

async function * chunks (parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p
}

describe('fuzz: readFrames', () => {
  it('arbitrary byte chunks never yield a frame over the limit; errors are FRAME_TOO_LARGE or PROTOCOL_ERROR', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }),
      fc.integer({ min: 0, max: 64 }),
      async (parts, max) => {
        try {
          for await (const f of readFrames(chunks(parts), max)) {
            expect(f.byteLength).toBeLessThanOrEqual(max)
          }
        } catch (err) {
          if (!(err instanceof ShoalError)) throw new Error(`threw a non-ShoalError: ${String(err)}`, { cause: err })
          expect(['FRAME_TOO_LARGE', 'PROTOCOL_ERROR']).toContain(err.code)
        }
      }
    ), { numRuns: RUNS })
  })

  it('framed payloads come back intact whatever the chunking', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (payloads, cuts) => {
        const bytes = concat(...payloads.map(p => frame(p).subarray()))
        const points = [...new Set(cuts.map(c => bytes.byteLength === 0 ? 0 : c % (bytes.byteLength + 1)))].sort((a, b) => a - b)
        const parts: Uint8Array[] = []
        let prev = 0
        for (const p of [...points, bytes.byteLength]) { parts.push(bytes.subarray(prev, p)); prev = p }
        const got: number[][] = []
        for await (const f of readFrames(chunks(parts), 300)) got.push(Array.from(f.subarray()))
        expect(got).toEqual(payloads.map(p => Array.from(p)))
      }
    ), { numRuns: RUNS })
  })
})
