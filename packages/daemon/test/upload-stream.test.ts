import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  Bitfield, ChunkLayout, ErrorCode, FrameDecoder, MANIFEST_VERSION, MAX_XFER_FRAME_BYTES, XferMessage,
  contentIdOf, decodeXfer, encodeXfer, frame
} from '@shoal/protocol'
import type { XferFields } from '@shoal/protocol'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_PENDING_CHUNKS_PER_STREAM, PACK_BYTES } from '../src/constants.js'
import type { ChunkSource } from '../src/storage/chunk-source.js'
import { BandwidthLimiter } from '../src/transfer/rate-limit.js'
import { SentTracker } from '../src/transfer/upload/sent-tracker.js'
import { Slots } from '../src/slots.js'
import { UploadStream } from '../src/transfer/upload/upload-stream.js'
import type { UploadStreamComponents } from '../src/transfer/upload/upload-stream.js'
import { defaultLogger } from '@libp2p/logger'

const CHUNK = 1024
const T = XferMessage.Type

/**
 * A root of `chunkCount` chunks of CHUNK bytes (one file), or with `sizes`
 * a directory of files that small (one short chunk each); chunk i is filled
 * with i. Holds all of them unless `have` is given.
 */
class StubSource implements ChunkSource {
  readonly name = 'stub'
  readonly manifestBytes = new Uint8Array()
  readonly layout: ChunkLayout
  private readonly listeners = new Set<(index: number | 'all') => void>()

  constructor (readonly cid: string, chunkCount: number, readonly have?: Bitfield, sizes?: number[]) {
    this.layout = new ChunkLayout(sizes === undefined
      ? { version: MANIFEST_VERSION, kind: 'file', chunkSize: CHUNK, files: [{ path: '', size: chunkCount * CHUNK, hashes: new Uint8Array(32 * chunkCount) }], dirs: [] }
      : { version: MANIFEST_VERSION, kind: 'dir', chunkSize: CHUNK, files: sizes.map((size, i) => ({ path: `f${String(i).padStart(4, '0')}`, size, hashes: new Uint8Array(32) })), dirs: [] })
  }

  has (index: number): boolean { return this.have?.has(index) ?? true }
  hasAll (): boolean { return this.have === undefined }
  holdings (): 'all' | Bitfield { return this.have ?? 'all' }
  async readChunk (index: number): Promise<Uint8Array> { return new Uint8Array(this.layout.lengthOf(index)).fill(index) }
  async readChunks (first: number, count: number): Promise<Uint8Array> {
    const chunks = await Promise.all(Array.from({ length: count }, async (_, i) => await this.readChunk(first + i)))
    return Uint8Array.from(chunks.flatMap(c => [...c]))
  }
  subscribe (listener: (index: number | 'all') => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** The download behind this source verified chunk `index`. */
  gain (index: number): void {
    this.have?.set(index)
    for (const l of this.listeners) l(index)
  }

  async close (): Promise<void> {}
}

/** The requesting side of the stream: what it received, and how the stream ended. */
class Requester {
  readonly messages: XferMessage[] = []
  /** The server ended its side cleanly. */
  finished = false
  /** The stream was reset. */
  reset = false

  constructor (readonly stream: Stream) {
    const decoder = new FrameDecoder(MAX_XFER_FRAME_BYTES)
    stream.addEventListener('message', e => { decoder.push(e.data, f => { this.messages.push(decodeXfer(f)) }) })
    stream.addEventListener('remoteCloseWrite', () => { this.finished = true })
    stream.addEventListener('close', e => { if (e.error !== undefined) this.reset = true })
  }

  /** Send frames in one write, so they arrive together. */
  send (...msgs: XferFields[]): void {
    this.stream.send(new Uint8ArrayList(...msgs.map(m => frame(encodeXfer(m)))))
  }

  of (type: XferMessage.Type): XferMessage[] {
    return this.messages.filter(m => m.type === type)
  }

  async until (done: () => boolean): Promise<void> {
    await vi.waitFor(() => { if (!done()) throw new Error('not yet') }, { timeout: 800, interval: 2 })
  }
}

let peer: PeerId
let cid: string
let rootBytes: Uint8Array
const streams: Stream[] = []

beforeAll(async () => {
  peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const root = await contentIdOf(Uint8Array.of(1, 2, 3))
  cid = root.toString()
  rootBytes = root.bytes
})

afterEach(() => {
  for (const s of streams.splice(0)) if (s.status === 'open') s.abort(new Error('test over'))
})

interface Setup {
  source: StubSource
  /** Whether lookup still finds the source. */
  shared: boolean
  swarmSize: number
  sentTracker: SentTracker
  requester: Requester
  upload: UploadStream
  /** Settles with what ended `run` (undefined when it returned); `fail` has been called then. */
  ended: Promise<unknown>
}

/** An UploadStream serving `source` on one end of an in-memory stream pair, a Requester on the other, HELLO sent. */
async function serve (opts: { chunks?: number, sizes?: number[], have?: Bitfield, limiter?: BandwidthLimiter, onJoin?: (notify: (peers: string[]) => void, s: Setup) => void } = {}): Promise<Setup> {
  const [client, server] = await streamPair()
  streams.push(client, server)
  const setup = {
    source: new StubSource(cid, opts.chunks ?? 8, opts.have, opts.sizes),
    shared: true,
    swarmSize: 1,
    sentTracker: new SentTracker()
  } as Setup
  const components: UploadStreamComponents = {
    logger: defaultLogger(),
    lookup: c => c === cid && setup.shared ? setup.source : undefined,
    stats: { onUploaded: () => {} },
    slots: new Slots(4),
    pex: {
      join: async (_cid, _peer, notify) => { opts.onJoin?.(notify, setup); return () => {} },
      swarmSize: () => setup.swarmSize
    },
    sentTracker: setup.sentTracker,
    limiter: opts.limiter ?? new BandwidthLimiter({})
  }
  setup.requester = new Requester(client)
  setup.upload = new UploadStream(server, peer, components)
  setup.ended = setup.upload.run().then(() => undefined, err => { setup.upload.fail(err); return err })
  setup.requester.send({ type: T.HELLO, root: rootBytes })
  return setup
}

const request = (index: number): XferFields => ({ type: T.REQUEST, index })

// each test takes milliseconds; a stream that hangs fails fast
describe('UploadStream', { timeout: 2_000 }, () => {
  it('answers HELLO with HAVE_ALL and serves requests, chunks never sent before first', async () => {
    const s = await serve()
    const sent = s.sentTracker.of(cid, 8)
    sent.record(1, 'someone-else')
    sent.record(3, 'someone-else')
    s.requester.send(request(1), request(3), request(0), request(2))
    await s.requester.until(() => s.requester.of(T.BLOCK).length === 4)
    expect(s.requester.messages[0]?.type).toBe(T.HAVE_ALL)
    const blocks = s.requester.of(T.BLOCK)
    expect(blocks.map(b => b.index)).toEqual([0, 2, 1, 3])
    expect(blocks.every(b => b.data.byteLength === CHUNK && b.data[0] === b.index)).toBe(true)
    // the peer ends its side: every answer is out, so the stream closes cleanly
    await s.requester.stream.close()
    expect(await s.ended).toBeUndefined()
    await s.requester.until(() => s.requester.finished)
    expect(s.requester.reset).toBe(false)
  })

  it('drops a queued request the peer cancels', async () => {
    const s = await serve()
    s.requester.send(request(0), request(1), request(2), request(3), request(4), request(5), { type: T.CANCEL, index: 5 })
    await s.requester.stream.close()
    expect(await s.ended).toBeUndefined()
    await s.requester.until(() => s.requester.finished)
    expect(s.requester.of(T.BLOCK).map(b => b.index).sort()).toEqual([0, 1, 2, 3, 4])
  })

  it(`cuts off a peer with more than ${MAX_PENDING_CHUNKS_PER_STREAM} chunks requested and not served`, async () => {
    const s = await serve()
    // ranges of 8 chunks, one chunk past the limit in all
    s.requester.send(...Array.from({ length: MAX_PENDING_CHUNKS_PER_STREAM / 8 }, () => ({ type: T.REQUEST, index: 0, count: 8 })), request(0))
    expect(await s.ended).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR, message: expect.stringMatching(/chunks requested/) })
    await s.requester.until(() => s.requester.reset)
    expect(s.requester.of(T.ERROR)[0]?.message).toMatch(/more than \d+ chunks requested and not yet served/)
    expect(s.requester.of(T.BLOCK)).toHaveLength(0)
  })

  it('refuses a request for a chunk past the end of the root', async () => {
    const s = await serve()
    s.requester.send(request(8))
    expect(await s.ended).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR })
    await s.requester.until(() => s.requester.reset)
    expect(s.requester.of(T.ERROR)[0]?.message).toBe('REQUEST for chunks 8+1 out of range (the root has 8)')
  })

  it('tells the peer a root that stopped being shared is no longer shared here', async () => {
    const s = await serve()
    s.requester.send(request(0))
    await s.requester.until(() => s.requester.of(T.BLOCK).length === 1)
    s.shared = false
    s.requester.send(request(1))
    expect(await s.ended).toBeUndefined()
    await s.requester.until(() => s.requester.finished)
    expect(s.requester.messages.at(-1)).toMatchObject({ type: T.ERROR, message: 'no longer shared here' })
    expect(s.requester.of(T.BLOCK)).toHaveLength(1)
  })

  it('answers HELLO for a root not served here with NOT_FOUND', async () => {
    const s = await serve()
    s.shared = false
    // (the HELLO is already on its way: unsharing before it is read is enough)
    expect(await s.ended).toBeUndefined()
    await s.requester.until(() => s.requester.finished)
    expect(s.requester.messages.map(m => m.type)).toEqual([T.NOT_FOUND])
  })

  it('answers NOT_FOUND for a chunk it lacks or is super-seeding, and announces chunks it gains', async () => {
    const have = new Bitfield(8)
    have.set(0)
    have.set(1)
    const s = await serve({ have })
    s.swarmSize = 3
    s.sentTracker.of(cid, 8).record(1, 'someone-else') // just now: theirs to pass on
    s.requester.send(request(0), request(1), request(2))
    await s.requester.until(() => s.requester.of(T.NOT_FOUND).length === 2 && s.requester.of(T.BLOCK).length === 1)
    expect(s.requester.messages[0]).toMatchObject({ type: T.BITFIELD, data: have.bytes })
    expect(s.requester.of(T.BLOCK).map(b => b.index)).toEqual([0])
    expect(s.requester.of(T.NOT_FOUND).map(m => m.index).sort()).toEqual([1, 2])
    s.source.gain(2)
    await s.requester.until(() => s.requester.of(T.HAVE).length === 1)
    expect(s.requester.of(T.HAVE)[0]?.index).toBe(2)
  })

  it('announces a chunk gained while it joins the swarm, after its BITFIELD', async () => {
    const have = new Bitfield(8)
    have.set(0)
    // the download verifies chunk 3 while peer exchange looks up addresses
    const s = await serve({ have, onJoin: (_notify, setup) => { setup.source.gain(3) } })
    await s.requester.until(() => s.requester.of(T.HAVE).length === 1)
    expect(s.requester.messages[0]?.type).toBe(T.BITFIELD)
    expect(new Bitfield(8, s.requester.messages[0]?.data).has(3)).toBe(false)
    expect(s.requester.of(T.HAVE)[0]?.index).toBe(3)
  })

  it('passes on the peers peer exchange reports', async () => {
    const s = await serve({ onJoin: notify => { notify(['/ip4/10.0.0.1/tcp/4001/p2p/x']) } })
    await s.requester.until(() => s.requester.of(T.PEERS).length === 1)
    expect(s.requester.of(T.PEERS)[0]?.peers).toEqual(['/ip4/10.0.0.1/tcp/4001/p2p/x'])
  })

  it('serves through the paced writer under an upload cap, and resets without an ERROR there', async () => {
    const s = await serve({ limiter: new BandwidthLimiter({ upload: 100 * 1024 * 1024 }) })
    s.requester.send(request(2), request(5))
    await s.requester.until(() => s.requester.of(T.BLOCK).length === 2)
    expect(s.upload.paced).toBe(true)
    expect(s.requester.of(T.BLOCK).map(b => b.index)).toEqual([2, 5])
    s.requester.send(request(99))
    expect(await s.ended).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR })
    await s.requester.until(() => s.requester.reset)
    expect(s.requester.of(T.ERROR)).toHaveLength(0)
  })

  it('packs a requested run of short chunks into one BLOCK, and never packs full chunks', async () => {
    const s = await serve({ sizes: Array.from({ length: 10 }, (_, i) => 100 + i) })
    s.requester.send({ type: T.REQUEST, index: 0, count: 10 })
    await s.requester.until(() => s.requester.of(T.BLOCK).length === 1)
    const [block] = s.requester.of(T.BLOCK)
    expect(block).toMatchObject({ index: 0, count: 10 })
    const expected = Array.from({ length: 10 }, (_, i) => new Array<number>(100 + i).fill(i)).flat()
    expect([...(block?.data ?? [])]).toEqual(expected)

    const full = await serve()
    full.requester.send({ type: T.REQUEST, index: 2, count: 3 })
    await full.requester.until(() => full.requester.of(T.BLOCK).length === 3)
    expect(full.requester.of(T.BLOCK).map(b => [b.index, b.count, b.data.byteLength])).toEqual([[2, undefined, CHUNK], [3, undefined, CHUNK], [4, undefined, CHUNK]])
  })

  it(`fills a pack up to ${PACK_BYTES} bytes, then starts another`, async () => {
    const size = 1000
    const count = Math.ceil(PACK_BYTES / size) + 5
    const s = await serve({ sizes: new Array<number>(count).fill(size) })
    s.requester.send({ type: T.REQUEST, index: 0, count })
    await s.requester.until(() => s.requester.of(T.BLOCK).reduce((n, b) => n + (b.count ?? 1), 0) === count)
    const blocks = s.requester.of(T.BLOCK)
    expect(blocks.map(b => b.count ?? 1)).toEqual([Math.floor(PACK_BYTES / size), count - Math.floor(PACK_BYTES / size)])
    expect(blocks.every(b => b.data.byteLength <= PACK_BYTES)).toBe(true)
  })

  it('drops a cancelled part of a queued run, and refuses a run it lacks with one NOT_FOUND', async () => {
    const have = new Bitfield(20)
    for (let i = 0; i < 10; i++) have.set(i)
    const s = await serve({ sizes: new Array<number>(20).fill(50), have })
    s.requester.send({ type: T.REQUEST, index: 0, count: 20 }, { type: T.CANCEL, index: 3, count: 2 })
    await s.requester.until(() => s.requester.of(T.NOT_FOUND).length === 1 && s.requester.of(T.BLOCK).length === 2)
    expect(s.requester.of(T.BLOCK).map(b => [b.index, b.count])).toEqual([[0, 3], [5, 5]])
    expect(s.requester.of(T.NOT_FOUND).map(m => [m.index, m.count])).toEqual([[10, 10]])
  })

  it('refuses a run of chunks past the end of the root', async () => {
    const s = await serve()
    s.requester.send({ type: T.REQUEST, index: 6, count: 3 })
    expect(await s.ended).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR })
    await s.requester.until(() => s.requester.reset)
    expect(s.requester.of(T.ERROR)[0]?.message).toBe('REQUEST for chunks 6+3 out of range (the root has 8)')
  })
})
