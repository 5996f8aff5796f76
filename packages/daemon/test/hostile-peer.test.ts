import fs from 'node:fs/promises'
import path from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  MANIFEST_PROTOCOL, ManifestResponse, P2P_MULTIADDR_CODE, XFER_PROTOCOL, XferMessage, decodeXfer, encodeXfer, frame, readFrames
} from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'
import type { Shoal } from '../src/index.js'
import type { ShoalLibp2p } from '../src/net/libp2p-node.js'
import { startBareHost, startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024

/** Read everything the peer sends until it closes or resets; returns decoded messages and how it ended. */
async function drainStream (stream: Stream): Promise<{ messages: XferMessage[], error?: unknown }> {
  const messages: XferMessage[] = []
  try {
    for await (const f of readFrames(stream, 8 * MiB)) {
      try { messages.push(decodeXfer(f)) } catch { /* keep reading */ }
    }
    return { messages }
  } catch (error) {
    return { messages, error }
  }
}

describe('a Shoal node facing a hostile peer', () => {
  let dir: string
  let shoal: Shoal
  let evil: ShoalLibp2p
  let cid: string
  let ticket: string
  let rootBytes: Uint8Array
  const src = (): string => path.join(dir, 'shared.bin')

  beforeAll(async () => {
    dir = await tempDir()
    shoal = await startNode(dir, 'good')
    evil = await startBareHost()
    await fs.writeFile(src(), Buffer.alloc(3 * MiB + 5, 0x61))
    ;({ cid, ticket } = await shoal.share(src()))
    const { CID } = await import('@shoal/protocol')
    rootBytes = CID.parse(cid).bytes
    await evil.dial(multiaddr(shoal.addrs()[0] ?? ''))
  })

  afterAll(async () => {
    await evil.stop()
    await shoal.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  const open = async (protocol = XFER_PROTOCOL): Promise<Stream> => await evil.dialProtocol(multiaddr(shoal.addrs()[0] ?? ''), protocol)

  it('resets a stream whose length prefix declares an oversized frame, before reading it', async () => {
    const stream = await open()
    // varint for 100 MiB, and no body at all: the node must not wait for it
    stream.send(Uint8Array.of(0x80, 0x80, 0x80, 0x32))
    const { error } = await drainStream(stream)
    expect(error).toBeDefined()
  })

  it('answers an unknown message type with an ERROR and a reset', async () => {
    const stream = await open()
    stream.send(frame(Uint8Array.of(0x08, 0x63))) // type = 99
    const { messages, error } = await drainStream(stream)
    expect(messages.map(m => m.type)).toContain(XferMessage.Type.ERROR)
    expect(error).toBeDefined()
  })

  it('refuses a request for an out-of-range chunk', async () => {
    const stream = await open()
    stream.send(frame(encodeXfer({ type: XferMessage.Type.HELLO, root: rootBytes })))
    stream.send(frame(encodeXfer({ type: XferMessage.Type.REQUEST, index: 1_000_000 })))
    const { messages, error } = await drainStream(stream)
    expect(messages[0]?.type).toBe(XferMessage.Type.HAVE_ALL)
    expect(messages.some(m => m.type === XferMessage.Type.BLOCK)).toBe(false)
    expect(messages.find(m => m.type === XferMessage.Type.ERROR)?.message).toMatch(/out of range|has \d+/)
    expect(error).toBeDefined()
  })

  it('cuts off a peer that floods requests past the pending limit', async () => {
    const stream = await open()
    stream.send(frame(encodeXfer({ type: XferMessage.Type.HELLO, root: rootBytes })))
    // 5000 chunks asked for in runs of 4: past the limit of chunks queued per stream
    for (let i = 0; i < 1250; i++) stream.send(frame(encodeXfer({ type: XferMessage.Type.REQUEST, index: 0, count: 4 })))
    const { messages, error } = await drainStream(stream)
    const blocks = messages.filter(m => m.type === XferMessage.Type.BLOCK).length
    expect(blocks).toBeLessThan(5000)
    expect(error !== undefined || messages.some(m => m.type === XferMessage.Type.ERROR)).toBe(true)
  })

  it('answers HELLO for an unknown root with NOT_FOUND', async () => {
    const stream = await open()
    const { CID } = await import('@shoal/protocol')
    const { sha256 } = await import('multiformats/hashes/sha2')
    const other = CID.createV1(0x71, await sha256.digest(Uint8Array.of(1, 2, 3)))
    stream.send(frame(encodeXfer({ type: XferMessage.Type.HELLO, root: other.bytes })))
    const { messages } = await drainStream(stream)
    expect(messages[0]?.type).toBe(XferMessage.Type.NOT_FOUND)
  })

  it('survives garbage on the manifest protocol', async () => {
    const stream = await open(MANIFEST_PROTOCOL)
    stream.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
    const { error } = await drainStream(stream)
    expect(error).toBeDefined()
  })

  it('serves an honest peer while slow-loris peers hold streams and read nothing', async () => {
    // more stalled streams than upload slots, each with requests queued and reading paused
    const stalled: Stream[] = []
    for (let i = 0; i < 8; i++) {
      const stream = await open()
      stream.pause()
      stream.send(frame(encodeXfer({ type: XferMessage.Type.HELLO, root: rootBytes })))
      for (let j = 0; j < 16; j++) stream.send(frame(encodeXfer({ type: XferMessage.Type.REQUEST, index: j % 4 })))
      stalled.push(stream)
    }
    const other = await startNode(dir, 'patient')
    try {
      const out = path.join(dir, 'while-stalled.bin')
      await other.fetch(ticket, { out })
      expect(Buffer.compare(await fs.readFile(out), await fs.readFile(src()))).toBe(0)
      // the honest fetch finished while the stalled streams were still held open
      expect(stalled.filter(s => s.status === 'open').length).toBeGreaterThan(0)
    } finally {
      for (const s of stalled) s.abort(new Error('test over'))
      await other.stop()
    }
  })

  it('still serves an honest fetch after all that', async () => {
    const other = await startNode(dir, 'honest')
    try {
      const out = path.join(dir, 'honest-copy.bin')
      const result = await other.fetch(ticket, { out })
      expect(result.size).toBe(3 * MiB + 5)
      expect(Buffer.compare(await fs.readFile(out), await fs.readFile(src()))).toBe(0)
    } finally {
      await other.stop()
    }
  })
})

describe('a fetcher facing a lying provider', () => {
  let dir: string
  let liar: ShoalLibp2p
  let honest: Shoal
  let fetcher: Shoal
  let cid: string

  beforeAll(async () => {
    dir = await tempDir()
    honest = await startNode(dir, 'honest')
    fetcher = await startNode(dir, 'fetcher')
    liar = await startBareHost()
    await fs.writeFile(path.join(dir, 'real.bin'), Buffer.alloc(2 * MiB + 3, 0x62))
    ;({ cid } = await honest.share(path.join(dir, 'real.bin')))
  })

  afterAll(async () => {
    await liar.stop()
    await honest.stop()
    await fetcher.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('rejects a manifest that does not hash to the content id', async () => {
    await liar.handle(MANIFEST_PROTOCOL, (stream: Stream) => {
      void (async () => {
        for await (const _ of readFrames(stream, 1024)) {
          stream.send(frame(ManifestResponse.encode({ status: ManifestResponse.Status.OK, manifest: Uint8Array.from([0xa0]) as Uint8Array<ArrayBuffer>, name: 'x', message: '' })))
          await stream.close()
          return
        }
      })()
    })
    const { encodeTicket, CID } = await import('@shoal/protocol')
    const fake = encodeTicket({ cid: CID.parse(cid), peerId: liar.peerId.toString(), addrs: liar.getMultiaddrs().map(m => m.decapsulateCode(P2P_MULTIADDR_CODE).toString()) })
    await expect(fetcher.fetch(fake, { out: path.join(dir, 'from-liar.bin') })).rejects.toMatchObject({ code: 'NO_PROVIDERS', message: expect.stringMatching(/does not hash/) })
    await expect(fs.access(path.join(dir, 'from-liar.bin'))).rejects.toThrow()
    // and the liar is banned: asked again, it is not even contacted
    let asked = 0
    await liar.unhandle(MANIFEST_PROTOCOL)
    await liar.handle(MANIFEST_PROTOCOL, (stream: Stream) => { asked++; stream.abort(new Error('no')) })
    await expect(fetcher.fetch(fake, { out: path.join(dir, 'from-liar.bin'), resolveTimeoutMs: 500 })).rejects.toMatchObject({ code: 'NO_PROVIDERS' })
    expect(asked).toBe(0)
    await liar.unhandle(MANIFEST_PROTOCOL)
  })

  it('bans a provider whose chunk fails its hash and completes from honest peers', async () => {
    // a fresh liar (the one above is banned for its manifest) relays the honest
    // manifest but sends wrong block bytes; it also knows the honest node, so
    // the DHT leads the fetcher there
    await liar.stop()
    liar = await startBareHost()
    const { requestManifestFrom } = await import('./relay.js')
    const manifestBytes = await requestManifestFrom(liar, honest, cid)
    await liar.handle(MANIFEST_PROTOCOL, (stream: Stream) => {
      void (async () => {
        for await (const _ of readFrames(stream, 1024)) {
          stream.send(frame(ManifestResponse.encode({ status: ManifestResponse.Status.OK, manifest: manifestBytes as Uint8Array<ArrayBuffer>, name: 'real.bin', message: '' })))
          await stream.close()
          return
        }
      })()
    })
    let hellos = 0
    let badBlocks = 0
    await liar.handle(XFER_PROTOCOL, (stream: Stream) => {
      void (async () => {
        try {
          for await (const f of readFrames(stream, 8 * MiB)) {
            const msg = decodeXfer(f)
            if (msg.type === XferMessage.Type.HELLO) { hellos++; stream.send(frame(encodeXfer({ type: XferMessage.Type.HAVE_ALL }))) }
            if (msg.type === XferMessage.Type.REQUEST) { badBlocks++; stream.send(frame(encodeXfer({ type: XferMessage.Type.BLOCK, index: msg.index, data: new Uint8Array(MiB).fill(0x7a) }))) }
          }
        } catch { /* reset by the fetcher: expected */ }
      })()
    })
    const { encodeTicket, CID } = await import('@shoal/protocol')
    const fake = encodeTicket({ cid: CID.parse(cid), peerId: liar.peerId.toString(), addrs: liar.getMultiaddrs().map(m => m.decapsulateCode(P2P_MULTIADDR_CODE).toString()) })
    const out = path.join(dir, 'liar-blocks.bin')
    const done = await fetcher.fetch(fake, { out })
    expect(done.path).toBe(out)
    expect(Buffer.compare(await fs.readFile(out), await fs.readFile(path.join(dir, 'real.bin')))).toBe(0)
    expect(badBlocks).toBeGreaterThan(0)
    // banned after its first bad block: the provider search never opens another session with it
    expect(hellos).toBe(1)
  })
})
