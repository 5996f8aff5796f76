import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Gauge, register as globalRegistry } from 'prom-client'
import {
  MANIFEST_PROTOCOL, ManifestResponse, P2P_MULTIADDR_CODE, XFER_PROTOCOL, XferMessage, CID, decodeXfer, encodeTicket, encodeXfer, frame, readFrames
} from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'
import { createShoal } from '../src/index.js'
import type { Shoal } from '../src/index.js'
import type { ShoalLibp2p } from '../src/net/libp2p-node.js'
import { ShoalMetrics } from '../src/telemetry/metrics.js'
import type { MetricsComponents } from '../src/telemetry/metrics.js'
import type { PeerTraffic } from '../src/telemetry/traffic.js'
import { startBareHost, tempDir } from './helpers.js'
import { requestManifestFrom } from './relay.js'
import { sample, scrape } from '../../../test/prometheus.js'
import { defaultLogger } from '@libp2p/logger'

const MiB = 1024 * 1024


async function nodeWithMetrics (dir: string, name: string, metrics = '127.0.0.1:0'): Promise<Shoal> {
  return await createShoal({ repo: path.join(dir, name), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, stallTimeoutMs: 5_000, resolveTimeoutMs: 3_000, metrics })
}

/** A port something else is listening on. */
async function occupiedPort (): Promise<{ port: number, close: () => Promise<void> }> {
  const server = net.createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return { port: (server.address() as net.AddressInfo).port, close: async () => { await new Promise(resolve => server.close(resolve)) } }
}

describe('ShoalMetrics with stubbed parts', () => {
  const perPeer = new Map<string, PeerTraffic>([['peerA', { uploaded: 10, downloaded: 0 }], ['peerB', { uploaded: 5, downloaded: 7 }]])
  const parts = { chunksVerified: 3, chunksRejected: 1, transfers: 2, shares: 4 }
  const components: MetricsComponents = {
    traffic: { get chunksVerified () { return parts.chunksVerified }, get chunksRejected () { return parts.chunksRejected }, peers: () => perPeer.entries() },
    activeTransfers: () => parts.transfers,
    shares: () => parts.shares,
    logger: defaultLogger()
  }

  it('serves the values as they are when scraped, on an ephemeral port', async () => {
    const metrics = new ShoalMetrics(components, { listen: '127.0.0.1:0' })
    expect(metrics.url).toBeUndefined()
    await metrics.start()
    try {
      const url = metrics.url ?? ''
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      expect(url).not.toContain(':0/')
      let text = await scrape(url)
      expect(sample(text, 'shoal_uploaded_bytes_total', { peer: 'peerA' })).toBe(10)
      expect(sample(text, 'shoal_uploaded_bytes_total', { peer: 'peerB' })).toBe(5)
      expect(sample(text, 'shoal_downloaded_bytes_total', { peer: 'peerB' })).toBe(7)
      expect(sample(text, 'shoal_downloaded_bytes_total', { peer: 'peerA' })).toBeUndefined() // nothing moved that way
      expect(sample(text, 'shoal_chunks_verified_total')).toBe(3)
      expect(sample(text, 'shoal_chunks_rejected_total')).toBe(1)
      expect(sample(text, 'shoal_active_transfers')).toBe(2)
      expect(sample(text, 'shoal_shares')).toBe(4)
      expect(text).toContain('# TYPE shoal_chunks_verified_total counter')
      // read again at the next scrape, not accumulated twice
      parts.chunksVerified = 9
      parts.transfers = 0
      perPeer.set('peerC', { uploaded: 0, downloaded: 1 })
      text = await scrape(url)
      expect(sample(text, 'shoal_chunks_verified_total')).toBe(9)
      expect(sample(text, 'shoal_active_transfers')).toBe(0)
      expect(sample(text, 'shoal_uploaded_bytes_total', { peer: 'peerA' })).toBe(10)
      expect(sample(text, 'shoal_downloaded_bytes_total', { peer: 'peerC' })).toBe(1)
      // only GET /metrics
      expect((await fetch(url.replace(/\/metrics$/, '/'))).status).toBe(404)
      expect((await fetch(url + '/x')).status).toBe(404)
      expect((await fetch(url, { method: 'POST' })).status).toBe(405)
      expect((await fetch(url + '?name[]=x')).status).toBe(200)
    } finally {
      await metrics.stop()
    }
    expect(metrics.url).toBeUndefined()
  })

  it('closes the endpoint on stop', async () => {
    const metrics = new ShoalMetrics(components, { listen: '127.0.0.1:0' })
    await metrics.start()
    const url = metrics.url ?? ''
    await scrape(url)
    await metrics.stop()
    await expect(fetch(url)).rejects.toThrow()
    await metrics.stop() // twice is fine
  })

  it('an address in use or not on this machine is INVALID_ADDRESS naming it', async () => {
    const busy = await occupiedPort()
    try {
      const inUse = new ShoalMetrics(components, { listen: `127.0.0.1:${busy.port}` })
      await expect(inUse.start()).rejects.toMatchObject({ code: 'INVALID_ADDRESS', message: `cannot serve metrics on 127.0.0.1:${busy.port}: address already in use` })
      expect(inUse.url).toBeUndefined()
    } finally {
      await busy.close()
    }
    // TEST-NET-1: routable in form, assigned to no interface here
    await expect(new ShoalMetrics(components, { listen: '192.0.2.1:9464' }).start()).rejects.toMatchObject({ code: 'INVALID_ADDRESS', message: expect.stringContaining('192.0.2.1:9464') })
    await expect(new ShoalMetrics(components, { listen: 'not an address' }).start()).rejects.toMatchObject({ code: 'INVALID_ADDRESS' })
  })
})

describe('metrics on Shoal nodes in one process', () => {
  let dir: string
  let alice: Shoal
  let bob: Shoal

  beforeAll(async () => {
    dir = await tempDir()
    alice = await nodeWithMetrics(dir, 'alice')
    bob = await nodeWithMetrics(dir, 'bob')
    // started together, as examples/embed.ts does: two registries, no "already registered"
    await Promise.all([alice.start(), bob.start()])
  })

  afterAll(async () => {
    await alice?.stop()
    await bob?.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('each node serves its own registry, with libp2p metrics and the URL in status', async () => {
    const a = (await alice.status()).metrics ?? ''
    const b = (await bob.status()).metrics ?? ''
    expect(a).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(b).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    expect(a).not.toBe(b)
    for (const url of [a, b]) {
      const text = await scrape(url)
      expect(text).toMatch(/^libp2p_dial_queue\{/m)
      expect(text).toMatch(/^libp2p_kad_dht_routing_table_size /m)
      // registered when libp2p starts: each node's own, though they started together
      expect(text).toMatch(/^libp2p_tcp_listener_status_info\{/m)
      expect(sample(text, 'shoal_shares')).toBe(0)
      expect(sample(text, 'shoal_chunks_verified_total')).toBe(0)
    }
  })

  it('counts a fetch: verified chunks and bytes per peer on both sides', async () => {
    const size = 2 * MiB + 3 // 3 chunks
    const file = path.join(dir, 'data.bin')
    await fs.writeFile(file, Buffer.alloc(size, 0x61))
    const shared = await alice.share(file)
    await bob.fetch(shared.ticket, { out: path.join(dir, 'copy.bin') })

    const b = await scrape((await bob.status()).metrics ?? '')
    expect(sample(b, 'shoal_chunks_verified_total')).toBe(3)
    expect(sample(b, 'shoal_chunks_rejected_total')).toBe(0)
    expect(sample(b, 'shoal_downloaded_bytes_total', { peer: alice.peerId })).toBe(size)
    expect(sample(b, 'shoal_active_transfers')).toBe(0)
    expect(sample(b, 'shoal_shares')).toBe(1) // the fetched copy
    const a = await scrape((await alice.status()).metrics ?? '')
    expect(sample(a, 'shoal_uploaded_bytes_total', { peer: bob.peerId })).toBe(size)
    expect(sample(a, 'shoal_chunks_verified_total')).toBe(0)
    expect(sample(a, 'shoal_shares')).toBe(1)
    expect(a).toMatch(/^libp2p_data_transfer_bytes_total\{protocol="\/shoal\/xfer\/2\.0\.0 sent"\} \d+/m)
  })

  it('counts a chunk that fails its hash as rejected', async () => {
    const size = 2 * MiB + 5
    const file = path.join(dir, 'data2.bin')
    await fs.writeFile(file, Buffer.alloc(size, 0x62))
    // the honest provider sends 1 MiB/s: its three chunks take about two
    // seconds, so the liar is asked too (end-game) however fast its session
    // opens; uncapped, the honest one had sent all three first once in CI
    const honest = await createShoal({ repo: path.join(dir, 'honest'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, maxUploadPerPeer: '1MiB/s' })
    await honest.start()
    const { cid } = await honest.share(file)
    await bob.connect(honest.addrs()[0] ?? '')
    // a bare host relays the real manifest but sends wrong block bytes
    const liar: ShoalLibp2p = await startBareHost()
    try {
      const manifestBytes = await requestManifestFrom(liar, honest, cid)
      await liar.handle(MANIFEST_PROTOCOL, (stream: Stream) => {
        void (async () => {
          for await (const _ of readFrames(stream, 1024)) {
            stream.send(frame(ManifestResponse.encode({ status: ManifestResponse.Status.OK, manifest: manifestBytes as Uint8Array<ArrayBuffer>, name: 'data2.bin', message: '' })))
            await stream.close()
            return
          }
        })()
      })
      await liar.handle(XFER_PROTOCOL, (stream: Stream) => {
        void (async () => {
          try {
            for await (const f of readFrames(stream, 8 * MiB)) {
              const msg = decodeXfer(f)
              if (msg.type === XferMessage.Type.HELLO) stream.send(frame(encodeXfer({ type: XferMessage.Type.HAVE_ALL })))
              if (msg.type === XferMessage.Type.REQUEST) stream.send(frame(encodeXfer({ type: XferMessage.Type.BLOCK, index: msg.index, data: new Uint8Array(MiB).fill(0x7a) })))
            }
          } catch { /* reset by the fetcher: expected */ }
        })()
      })
      const ticket = encodeTicket({ cid: CID.parse(cid), peerId: liar.peerId.toString(), addrs: liar.getMultiaddrs().map(m => m.decapsulateCode(P2P_MULTIADDR_CODE).toString()) })
      const before = sample(await scrape((await bob.status()).metrics ?? ''), 'shoal_chunks_verified_total') ?? NaN
      await bob.fetch(ticket, { out: path.join(dir, 'copy2.bin') }) // completes from the honest one
      const b = await scrape((await bob.status()).metrics ?? '')
      expect(sample(b, 'shoal_chunks_rejected_total')).toBeGreaterThanOrEqual(1)
      expect(sample(b, 'shoal_chunks_verified_total')).toBe(before + 3)
      expect(sample(b, 'shoal_downloaded_bytes_total', { peer: liar.peerId.toString() })).toBeUndefined()
    } finally {
      await liar.stop()
      await honest.stop()
    }
  })

  it("leaves prom-client's global registry as the embedding program had it", async () => {
    const mine = new Gauge({ name: 'embedder_things', help: 'an embedding program\'s own metric' })
    mine.set(7)
    const extra = await nodeWithMetrics(dir, 'embedded')
    await extra.start()
    try {
      expect(globalRegistry.getSingleMetric('embedder_things')).toBe(mine)
      expect(await globalRegistry.metrics()).toMatch(/^embedder_things 7$/m)
      expect(await scrape((await extra.status()).metrics ?? '')).not.toContain('embedder_things')
    } finally {
      await extra.stop()
      globalRegistry.removeSingleMetric('embedder_things')
    }
  })

  it('stop closes the endpoint; a node without the option has no metrics URL', async () => {
    const extra = await nodeWithMetrics(dir, 'extra')
    await extra.start()
    const url = (await extra.status()).metrics ?? ''
    await scrape(url)
    await extra.stop()
    await expect(fetch(url)).rejects.toThrow()
    const plain = await createShoal({ repo: path.join(dir, 'plain'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false })
    await plain.start()
    try {
      expect('metrics' in await plain.status()).toBe(false)
    } finally {
      await plain.stop()
    }
  })

  it('a metrics address in use fails start with INVALID_ADDRESS and leaves the repo usable', async () => {
    const busy = await occupiedPort()
    const repo = path.join(dir, 'busy')
    try {
      const node = await nodeWithMetrics(dir, 'busy', `127.0.0.1:${busy.port}`)
      await expect(node.start()).rejects.toMatchObject({ code: 'INVALID_ADDRESS', message: expect.stringContaining(`127.0.0.1:${busy.port}`) })
    } finally {
      await busy.close()
    }
    // the lock was released: the same repo starts, and config.json's "metrics" is used
    await fs.writeFile(path.join(repo, 'config.json'), JSON.stringify({ metrics: '127.0.0.1:0' }))
    const again = await createShoal({ repo, listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false })
    await again.start()
    try {
      expect((await again.status()).metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    } finally {
      await again.stop()
    }
  })
})
