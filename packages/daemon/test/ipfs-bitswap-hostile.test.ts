/**
 * Shoal's Bitswap server against a hostile (or merely odd) peer: a bare
 * libp2p host that speaks raw Bitswap frames. Floods, oversized and garbage
 * messages and unknown CIDs cost a bounded amount and never stop the node.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { BITSWAP_120, BitswapMessage, MAX_BITSWAP_ENTRIES, cidFromPrefix, decodeBitswap, encodeBitswap, frame, parseBlockPrefix, readFrames } from '@shoal/protocol'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Shoal } from '../src/index.js'
import type { ShoalLibp2p } from '../src/net/libp2p-node.js'
import { BitswapServer } from '../src/ipfs/bitswap/bitswap-server.js'
import type { BitswapNetwork } from '../src/ipfs/bitswap/bitswap-network.js'
import { startBareHost, startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024
const { Block, Have } = BitswapMessage.Wantlist.WantType

function want (cid: CID, type = Block, sendDontHave = true): BitswapMessage.Wantlist.Entry {
  return { block: cid.bytes as Uint8Array<ArrayBuffer>, priority: 1, cancel: false, wantType: type, sendDontHave }
}

async function randomCid (): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(randomBytes(16)))
}

describe('a Shoal node facing a hostile Bitswap peer', () => {
  let dir: string
  let shoal: Shoal
  let evil: ShoalLibp2p
  let root: CID
  const inbox: BitswapMessage[] = []
  const waiters: Array<() => void> = []

  beforeAll(async () => {
    dir = await tempDir()
    shoal = await startNode(dir, 'good')
    evil = await startBareHost()
    // our answers come on streams the node opens to us
    await evil.handle(BITSWAP_120, (stream: Stream) => {
      void (async () => {
        try {
          for await (const f of readFrames(stream, 8 * MiB)) { inbox.push(decodeBitswap(f)); for (const w of waiters.splice(0)) w() }
        } catch { /* the node closed or reset it */ }
      })()
    })
    await fs.writeFile(path.join(dir, 'shared.bin'), randomBytes(3 * MiB + 5))
    const shared = await shoal.share(path.join(dir, 'shared.bin'))
    root = CID.parse(shared.ipfs as string)
    await evil.dial(multiaddr(shoal.addrs()[0] ?? ''))
  })

  afterAll(async () => {
    await evil.stop()
    await shoal.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  const send = async (...messages: Array<Partial<BitswapMessage>>): Promise<Stream> => {
    const stream = await evil.dialProtocol(multiaddr(shoal.addrs()[0] ?? ''), BITSWAP_120)
    for (const m of messages) stream.send(frame(encodeBitswap(m)))
    // as Helia does: one stream per batch, closed once written (the node keeps at most 8 open per connection)
    await stream.close().catch(() => {})
    return stream
  }

  /** Wait until the inbox has a message matching `match`. */
  const until = async (match: (m: BitswapMessage) => boolean, ms = 10_000): Promise<BitswapMessage> => {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      const found = inbox.find(match)
      if (found !== undefined) return found
      await new Promise<void>(resolve => { waiters.push(resolve); setTimeout(resolve, 200) })
    }
    throw new Error('no such message')
  }

  it('answers want-have with HAVE, and DONT_HAVE for unknown CIDs', async () => {
    const unknown = await randomCid()
    await send({ wantlist: { full: false, entries: [want(root, Have), want(unknown, Have)] } })
    const have = await until(m => m.blockPresences.some(p => CID.decode(p.cid).equals(root)))
    expect(have.blockPresences.find(p => CID.decode(p.cid).equals(root))?.type).toBe(BitswapMessage.BlockPresenceType.Have)
    await until(m => m.blockPresences.some(p => CID.decode(p.cid).equals(unknown) && p.type === BitswapMessage.BlockPresenceType.DontHave))
  })

  it('sends a wanted block, verified: its bytes hash to the CID asked for', async () => {
    await send({ wantlist: { full: false, entries: [want(root)] } })
    const msg = await until(m => m.payload.length > 0)
    const block = msg.payload[0] as BitswapMessage.Block
    const cid = cidFromPrefix(parseBlockPrefix(block.prefix), createHash('sha256').update(block.data).digest())
    expect(cid.equals(root)).toBe(true)
  })

  it('resets a stream whose frame declares more than 4 MiB, and keeps serving', async () => {
    const stream = await evil.dialProtocol(multiaddr(shoal.addrs()[0] ?? ''), BITSWAP_120)
    stream.send(Uint8Array.of(0x80, 0x80, 0x80, 0x32)) // 100 MiB declared, nothing sent
    await closed(stream)
    expect(stream.status).toBe('reset')
    const unknown = await randomCid()
    await send({ wantlist: { full: false, entries: [want(unknown, Have)] } })
    await until(m => m.blockPresences.some(p => CID.decode(p.cid).equals(unknown)))
  })

  it('resets a stream of garbage, and one with more wants than a message may carry', async () => {
    const garbage = await evil.dialProtocol(multiaddr(shoal.addrs()[0] ?? ''), BITSWAP_120)
    garbage.send(frame(Uint8Array.of(0xff, 0xff, 0xff, 0x0f, 0x01)))
    await closed(garbage)
    expect(garbage.status).toBe('reset')
    const entries = await Promise.all(Array.from({ length: MAX_BITSWAP_ENTRIES + 1 }, async () => want(await randomCid(), Have, false)))
    const flood = await send({ wantlist: { full: false, entries } })
    await closed(flood)
    expect(flood.status).toBe('reset')
  })

  it('survives a flood of wants for unknown blocks and keeps answering', async () => {
    for (let i = 0; i < 5; i++) {
      const entries = await Promise.all(Array.from({ length: 2000 }, async () => want(await randomCid(), Block, false)))
      await send({ wantlist: { full: false, entries } })
    }
    // still answering
    await send({ wantlist: { full: false, entries: [want(root, Have)] } })
    await until(m => m.blockPresences.filter(p => CID.decode(p.cid).equals(root)).length > 0)
    expect((await shoal.status()).peerId).toBe(shoal.peerId)
  })
})

describe('BitswapServer bounds', () => {
  it('keeps at most maxWantsPerPeer wants and sends at most peerConcurrency blocks at once', async () => {
    const sent: Array<Partial<BitswapMessage>> = []
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const network = { send: async (_peer: PeerId, m: Partial<BitswapMessage>) => { sent.push(m); await gate } } as unknown as BitswapNetwork
    const server = new BitswapServer({ network, store: { has: () => true, get: async () => new Uint8Array(10) }, log: Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as never }, { maxWantsPerPeer: 16, peerConcurrency: 2 })
    const peer = { toString: () => 'peer-a', equals: () => false } as unknown as PeerId
    const entries = await Promise.all(Array.from({ length: 4000 }, async () => want(await randomCid())))
    server.onMessage(peer, { wantlist: { full: false, entries }, blocks: [], payload: [], blockPresences: [], pendingBytes: 0 }, BITSWAP_120)
    // the two sends it may start are held at the gate: wait for them, not for a time
    await vi.waitFor(() => { expect(sent.filter(m => (m.payload?.length ?? 0) > 0)).toHaveLength(2) })
    expect(server.wantsOf(peer)).toBeGreaterThan(0)
    expect(server.wantsOf(peer)).toBeLessThanOrEqual(16)
    expect(sent.filter(m => (m.payload?.length ?? 0) > 0).length).toBeLessThanOrEqual(2)
    // a cancel forgets; a full want list replaces
    server.onMessage(peer, { wantlist: { full: true, entries: [] }, blocks: [], payload: [], blockPresences: [], pendingBytes: 0 }, BITSWAP_120)
    expect(server.wantsOf(peer)).toBe(0)
    release()
  })
})

/** Resolves once `stream` is closed, whether that happened before this was called or after. */
async function closed (stream: Stream): Promise<void> {
  if (stream.status !== 'open') return
  await new Promise<void>(resolve => { stream.addEventListener('close', () => { resolve() }, { once: true }) })
}
