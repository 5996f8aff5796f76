import { describe, it, expect, beforeAll } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  MAX_CHUNK_SIZE, ManifestRequest, ManifestResponse, ShoalError, XferMessage,
  decodeManifestRequest, decodeManifestResponse, decodeXfer, encodeXfer, sealManifest
} from '../src/index.js'
import { concat, expectShoalError, fileManifest, prng, randomBytes, varint } from './helpers.js'

const T = XferMessage.Type
let root: Uint8Array<ArrayBuffer>

beforeAll(async () => {
  root = Uint8Array.from((await sealManifest(fileManifest(1))).cid.bytes)
})

/** The shape decodeXfer returns: unset bytes/strings are empty, unset index is absent. */
function expected (msg: Partial<XferMessage> & Pick<XferMessage, 'type'>): XferMessage {
  const out: XferMessage = { type: msg.type, root: new Uint8Array(0), data: new Uint8Array(0), message: '', peers: [] }
  if (msg.root !== undefined) out.root = msg.root as XferMessage['root']
  if (msg.data !== undefined) out.data = msg.data as XferMessage['data']
  if (msg.message !== undefined) out.message = msg.message
  if (msg.index !== undefined) out.index = msg.index
  return out
}

function roundTrip (msg: Partial<XferMessage> & Pick<XferMessage, 'type'>): void {
  const bytes = encodeXfer(msg)
  const back = decodeXfer(bytes)
  expect(back.type).toBe(msg.type)
  expect({ ...back, root: Array.from(back.root), data: Array.from(back.data) })
    .toEqual({ ...expected(msg), root: Array.from(expected(msg).root), data: Array.from(expected(msg).data) })
  expect('index' in back).toBe(msg.index !== undefined)
  // also decodes from a multi-part Uint8ArrayList (as readFrames yields)
  const list = new Uint8ArrayList(bytes.subarray(0, 1), bytes.subarray(1))
  expect(decodeXfer(list).type).toBe(msg.type)
}

describe('xfer messages round-trip', () => {
  it('HELLO', () => roundTrip({ type: T.HELLO, root }))
  it('HELLO with a 128-byte root (the limit)', () => roundTrip({ type: T.HELLO, root: new Uint8Array(128).fill(7) }))
  it('HAVE_ALL', () => roundTrip({ type: T.HAVE_ALL }))
  it('BITFIELD', () => roundTrip({ type: T.BITFIELD, data: Uint8Array.of(0xff, 0x80, 0x01) }))
  it('BITFIELD with no bits (empty data)', () => roundTrip({ type: T.BITFIELD }))
  it('HAVE', () => roundTrip({ type: T.HAVE, index: 42 }))
  it('REQUEST with index 0 (zero must survive)', () => roundTrip({ type: T.REQUEST, index: 0 }))
  it('REQUEST with the largest uint32 index', () => roundTrip({ type: T.REQUEST, index: 2 ** 32 - 1 }))
  it('BLOCK', () => roundTrip({ type: T.BLOCK, index: 3, data: new Uint8Array(1000).map((_, i) => i & 0xff) }))
  it('BLOCK with an empty payload', () => roundTrip({ type: T.BLOCK, index: 0 }))
  it('BLOCK at exactly MAX_CHUNK_SIZE', () => {
    const msg = decodeXfer(encodeXfer({ type: T.BLOCK, index: 9, data: new Uint8Array(MAX_CHUNK_SIZE).fill(1) }))
    expect(msg.data.byteLength).toBe(MAX_CHUNK_SIZE)
    expect(msg.index).toBe(9)
  })
  it('CANCEL', () => roundTrip({ type: T.CANCEL, index: 17 }))
  it('NOT_FOUND with and without index', () => {
    roundTrip({ type: T.NOT_FOUND })
    roundTrip({ type: T.NOT_FOUND, index: 5 })
  })
  it('ERROR with a message', () => roundTrip({ type: T.ERROR, message: 'disk on fire 🔥' }))
  it('ERROR without a message', () => roundTrip({ type: T.ERROR }))

  it('wire bytes match the .proto field numbers', () => {
    // type=REQUEST(5) → 08 05; index=300 → 18 ac 02
    expect(Array.from(encodeXfer({ type: T.REQUEST, index: 300 }))).toEqual([0x08, 0x05, 0x18, 0xac, 0x02])
    expect(Array.from(encodeXfer({ type: T.HELLO, root: Uint8Array.of(9) }))).toEqual([0x08, 0x01, 0x12, 0x01, 0x09])
  })

  it('skips unknown fields (forward compatibility)', () => {
    const bytes = concat(encodeXfer({ type: T.HAVE, index: 1 }), [0x38, 0x07], [0x42, 0x02, 0xaa, 0xbb])
    const msg = decodeXfer(bytes)
    expect(msg.type).toBe(T.HAVE)
    expect(msg.index).toBe(1)
  })
})

describe('decodeXfer rejections (PROTOCOL_ERROR)', () => {
  it('type UNKNOWN, explicit or by omission', () => {
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.UNKNOWN })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(new Uint8Array(0)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 0x00)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.UNKNOWN, index: 1, root })), 'PROTOCOL_ERROR')
  })

  it('unknown enum numbers', () => {
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 99)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 11)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(concat([0x08], varint(2 ** 31 - 1))), 'PROTOCOL_ERROR')
    // -1 as a 10-byte varint
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), 'PROTOCOL_ERROR')
  })

  for (const type of [T.REQUEST, T.BLOCK, T.HAVE, T.CANCEL]) {
    it(`${type} without index`, () => {
      const e = expectShoalError(() => decodeXfer(encodeXfer({ type, data: Uint8Array.of(1) })), 'PROTOCOL_ERROR')
      expect(e.message).toMatch(/index/)
    })
  }

  it('HELLO without root, or with an oversized root', () => {
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.HELLO })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.HELLO, root: new Uint8Array(0) })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.HELLO, root: new Uint8Array(129) })), 'PROTOCOL_ERROR')
  })

  it('BLOCK larger than MAX_CHUNK_SIZE', () => {
    const e = expectShoalError(() => decodeXfer(encodeXfer({ type: T.BLOCK, index: 0, data: new Uint8Array(MAX_CHUNK_SIZE + 1) })), 'PROTOCOL_ERROR')
    expect(e.message).toMatch(/larger/)
  })

  it('BITFIELD larger than MAX_CHUNK_SIZE', () => {
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.BITFIELD, data: new Uint8Array(MAX_CHUNK_SIZE + 1) })), 'PROTOCOL_ERROR')
  })

  it('truncated and malformed protobuf', () => {
    const block = encodeXfer({ type: T.BLOCK, index: 3, data: new Uint8Array(100) })
    expectShoalError(() => decodeXfer(block.subarray(0, block.byteLength - 1)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08)), 'PROTOCOL_ERROR') // tag, no value
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 0x05, 0x18)), 'PROTOCOL_ERROR') // index tag, no value
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 0x06, 0x18, 0x01, 0x22, 0xff, 0xff, 0xff, 0xff, 0x0f)), 'PROTOCOL_ERROR') // data length past the end
    expectShoalError(() => decodeXfer(Uint8Array.of(0x08, 0x05, 0x18, 0x01, 0x0f)), 'PROTOCOL_ERROR') // wire type 7
  })

  it('random garbage either decodes to a well-formed message or throws ShoalError', () => {
    const rand = prng(0x5c0a1)
    let decoded = 0
    for (let i = 0; i < 3000; i++) {
      const bytes = randomBytes(rand, Math.floor(rand() * 24))
      // bias some inputs toward a valid type tag so the per-type checks get exercised
      if (i % 2 === 0 && bytes.byteLength >= 2) { bytes[0] = 0x08; bytes[1] = 1 + Math.floor(rand() * 9) }
      try {
        const msg = decodeXfer(bytes)
        decoded++
        expect(Object.values(T)).toContain(msg.type)
        expect(msg.type).not.toBe(T.UNKNOWN)
        if ([T.HAVE, T.REQUEST, T.BLOCK, T.CANCEL].includes(msg.type)) expect(msg.index).toBeTypeOf('number')
        if (msg.type === T.HELLO) expect(msg.root.byteLength).toBeGreaterThan(0)
      } catch (err) {
        expect(err).toBeInstanceOf(ShoalError)
        expect((err as ShoalError).code).toBe('PROTOCOL_ERROR')
      }
    }
    expect(decoded).toBeGreaterThan(0)
  })
})

describe('manifest protocol messages', () => {
  it('request round-trips; an empty or oversized root is rejected', () => {
    expect(Array.from(decodeManifestRequest(ManifestRequest.encode({ root })).root)).toEqual(Array.from(root))
    expectShoalError(() => decodeManifestRequest(ManifestRequest.encode({ root: new Uint8Array(0) })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeManifestRequest(new Uint8Array(0)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeManifestRequest(ManifestRequest.encode({ root: new Uint8Array(129) })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeManifestRequest(Uint8Array.of(0x0a, 0x05, 1)), 'PROTOCOL_ERROR')
  })

  it('response round-trips for each status; unknown status is rejected', () => {
    const manifest = Uint8Array.of(1, 2, 3)
    const ok = decodeManifestResponse(ManifestResponse.encode({ status: ManifestResponse.Status.OK, manifest, name: 'n', message: '' }))
    expect(ok.status).toBe(ManifestResponse.Status.OK)
    expect(Array.from(ok.manifest)).toEqual([1, 2, 3])
    expect(ok.name).toBe('n')
    const nf = decodeManifestResponse(ManifestResponse.encode({ status: ManifestResponse.Status.NOT_FOUND, manifest: new Uint8Array(0), name: '', message: 'gone' }))
    expect(nf.status).toBe(ManifestResponse.Status.NOT_FOUND)
    expect(nf.message).toBe('gone')
    expectShoalError(() => decodeManifestResponse(Uint8Array.of(0x08, 0x07)), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeManifestResponse(Uint8Array.of(0x12, 0x09, 0x00)), 'PROTOCOL_ERROR')
  })
})

describe('peer exchange messages', () => {
  it('PEERS round-trips its addresses', async () => {
    const { decodeXfer, encodeXfer, XferMessage } = await import('../src/index.js')
    const peers = ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp']
    const back = decodeXfer(encodeXfer({ type: XferMessage.Type.PEERS, peers }))
    expect(back.type).toBe(XferMessage.Type.PEERS)
    expect(back.peers).toEqual(peers)
  })

  it('PEERS with more than MAX_PEX_PEERS addresses is a protocol error', async () => {
    const { decodeXfer, encodeXfer, XferMessage, MAX_PEX_PEERS } = await import('../src/index.js')
    const peers = Array.from({ length: MAX_PEX_PEERS + 1 }, (_, i) => `/ip4/127.0.0.1/tcp/${1000 + i}`)
    expect(() => decodeXfer(encodeXfer({ type: XferMessage.Type.PEERS, peers }))).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }))
  })
})

describe('encodeBlockFrame (zero-copy BLOCK)', () => {
  it('gives exactly the bytes of frame(encodeXfer(BLOCK)) for indexes and sizes that change the varints', async () => {
    const { encodeBlockFrame, encodeXfer, frame, XferMessage } = await import('../src/index.js')
    for (const index of [0, 1, 127, 128, 16_383, 16_384, 2 ** 32 - 1]) {
      for (const size of [1, 127, 128, 300_000, 1024 * 1024, 4 * 1024 * 1024]) {
        const data = new Uint8Array(size).fill(index % 251)
        const expected = frame(encodeXfer({ type: XferMessage.Type.BLOCK, index, data })).subarray()
        expect(Buffer.compare(Buffer.from(encodeBlockFrame(index, data).subarray()), Buffer.from(expected))).toBe(0)
      }
    }
  })
})

describe('chunk ranges (count, xfer 2.0.0)', () => {
  it('HAVE, REQUEST, BLOCK, CANCEL and NOT_FOUND carry a count; unset means one chunk', async () => {
    const { chunkRange } = await import('../src/index.js')
    for (const type of [T.HAVE, T.REQUEST, T.CANCEL, T.NOT_FOUND]) {
      const msg = decodeXfer(encodeXfer({ type, index: 7, count: 300 }))
      expect([msg.index, msg.count]).toEqual([7, 300])
      expect(chunkRange(msg, 307)).toEqual({ first: 7, count: 300 })
      expect(chunkRange(decodeXfer(encodeXfer({ type, index: 7 })), 8)).toEqual({ first: 7, count: 1 })
    }
    const block = decodeXfer(encodeXfer({ type: T.BLOCK, index: 2, count: 3, data: Uint8Array.of(1, 2, 3) }))
    expect([block.index, block.count, Array.from(block.data)]).toEqual([2, 3, [1, 2, 3]])
    // field 7, varint
    expect(Array.from(encodeXfer({ type: T.REQUEST, index: 1, count: 2 }))).toEqual([0x08, 0x05, 0x18, 0x01, 0x38, 0x02])
  })

  it('rejects a count of 0, a count without an index, a range past 2^32, and a BLOCK with fewer bytes than chunks', async () => {
    const { chunkRange } = await import('../src/index.js')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.REQUEST, index: 1, count: 0 })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.NOT_FOUND, count: 2 })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.CANCEL, index: 2 ** 32 - 1, count: 2 })), 'PROTOCOL_ERROR')
    expectShoalError(() => decodeXfer(encodeXfer({ type: T.BLOCK, index: 0, count: 4, data: Uint8Array.of(1, 2, 3) })), 'PROTOCOL_ERROR')
    // past the root's chunks: the receiver's check
    expectShoalError(() => chunkRange(decodeXfer(encodeXfer({ type: T.HAVE, index: 5, count: 4 })), 8), 'PROTOCOL_ERROR')
    expectShoalError(() => chunkRange(decodeXfer(encodeXfer({ type: T.HAVE, index: 8 })), 8), 'PROTOCOL_ERROR')
  })

  it('a packed BLOCK frame reads back through both decoders, count and all', async () => {
    const { encodeBlockFrame, decodeBlockFrame, readFrames } = await import('../src/index.js')
    const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff)
    const whole = encodeBlockFrame(300, data, 40).subarray()
    for await (const frame of readFrames([whole.subarray(0, 3), whole.subarray(3, 7), whole.subarray(7)], 8 * 1024 * 1024)) {
      const fast = decodeBlockFrame(frame)
      expect([fast?.index, fast?.count]).toEqual([300, 40])
      expect(Buffer.compare(Buffer.from(fast?.data.subarray() ?? []), Buffer.from(data))).toBe(0)
      const slow = decodeXfer(frame)
      expect([slow.index, slow.count, slow.data.byteLength]).toEqual([300, 40, 5000])
    }
    // one chunk: the count is left out, as before 2.0.0
    for await (const frame of readFrames([encodeBlockFrame(3, data).subarray()], 8 * 1024 * 1024)) expect(decodeBlockFrame(frame)?.count).toBe(1)
    // a count of 0, or more chunks than bytes, is not a BLOCK the fast path takes
    expect(decodeBlockFrame(new Uint8ArrayList(Uint8Array.of(0x08, 6, 0x18, 1, 0x38, 0, 0x22, 1, 9)))).toBeUndefined()
    expect(decodeBlockFrame(new Uint8ArrayList(Uint8Array.of(0x08, 6, 0x18, 1, 0x38, 3, 0x22, 2, 9, 9)))).toBeUndefined()
  })
})

describe('decodeBlockFrame (zero-copy receive)', () => {
  it('reads what encodeBlockFrame writes, as the same bytes decodeXfer sees, across piece boundaries', async () => {
    const { encodeBlockFrame, decodeBlockFrame, decodeXfer, readFrames } = await import('../src/index.js')
    for (const index of [0, 5, 300, 2 ** 32 - 1]) {
      for (const size of [1, 1000, 1024 * 1024 + 3]) {
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + index) & 0xff)
        const whole = encodeBlockFrame(index, data).subarray()
        // deliver in 100 KiB pieces, as a transport would
        const pieces: Uint8Array[] = []
        for (let i = 0; i < whole.byteLength; i += 100 * 1024) pieces.push(whole.subarray(i, i + 100 * 1024))
        for await (const frame of readFrames(pieces, 8 * 1024 * 1024)) {
          const fast = decodeBlockFrame(frame)
          expect(fast?.index).toBe(index)
          expect(Buffer.compare(Buffer.from(fast?.data.subarray() ?? []), Buffer.from(data))).toBe(0)
          expect(decodeXfer(frame).index).toBe(index)
        }
      }
    }
  })

  it('declines anything that is not exactly a BLOCK in that layout', async () => {
    const { decodeBlockFrame, encodeXfer, XferMessage } = await import('../src/index.js')
    const { Uint8ArrayList } = await import('uint8arraylist')
    expect(decodeBlockFrame(new Uint8ArrayList(encodeXfer({ type: XferMessage.Type.REQUEST, index: 3 })))).toBeUndefined()
    expect(decodeBlockFrame(new Uint8ArrayList(encodeXfer({ type: XferMessage.Type.HAVE, index: 3 })))).toBeUndefined()
    // a BLOCK with a trailing extra field
    const block = encodeXfer({ type: XferMessage.Type.BLOCK, index: 1, data: Uint8Array.of(1, 2) })
    expect(decodeBlockFrame(new Uint8ArrayList(block, Uint8Array.of(0x2a, 0x01, 0x78)))).toBeUndefined()
    // declared length longer than the frame
    expect(decodeBlockFrame(new Uint8ArrayList(Uint8Array.of(0x08, 6, 0x18, 1, 0x22, 10, 1, 2)))).toBeUndefined()
  })
})
