/**
 * The trustless gateway handler on its own, in a plain node:http server (the
 * daemon's HTTP gateway plugs the same handler in): raw blocks and CARs per
 * the spec, and a stock Helia whose only route to the content is its
 * trustless-gateway client pointed at it.
 */
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { CarReader } from '@ipld/car'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createHelia } from 'helia'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Shoal } from '../src/index.js'
import type { IpfsService } from '../src/ipfs/ipfs-service.js'
import { CAR_MEDIA_TYPE, RAW_MEDIA_TYPE } from '../src/ipfs/trustless-gateway.js'
import { startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024

function digestOf (bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest()
}

describe('the trustless gateway handler', () => {
  let dir: string
  let shoal: Shoal
  let server: http.Server
  let base: string
  let data: Buffer
  let cid: CID

  beforeAll(async () => {
    dir = await tempDir()
    shoal = await startNode(dir, 'gw')
    data = randomBytes(5 * MiB + 11)
    await fs.writeFile(path.join(dir, 'file.bin'), data)
    cid = CID.parse((await shoal.share(path.join(dir, 'file.bin'))).ipfs as string)
    // until the daemon's HTTP gateway (issue 15) serves it, reach the handler through the node
    const handler = (shoal as unknown as { running: { ipfs: IpfsService } }).running.ipfs.gateway()
    server = http.createServer((req, res) => {
      void handler(req, res).then(handled => { if (!handled) { res.writeHead(404); res.end() } })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve))
    await shoal.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('answers ?format=raw with the block, verified', async () => {
    const res = await fetch(`${base}/ipfs/${cid.toString()}?format=raw`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(RAW_MEDIA_TYPE)
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect(digestOf(bytes).equals(Buffer.from(cid.multihash.digest))).toBe(true)
    const byAccept = await fetch(`${base}/ipfs/${cid.toString()}`, { headers: { accept: RAW_MEDIA_TYPE } })
    expect(byAccept.status).toBe(200)
    const head = await fetch(`${base}/ipfs/${cid.toString()}?format=raw`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(Number(head.headers.get('content-length'))).toBe(bytes.byteLength)
  })

  it('answers ?format=car with every block of the DAG, depth first, root named', async () => {
    const res = await fetch(`${base}/ipfs/${cid.toString()}?format=car`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(new RegExp(`^${CAR_MEDIA_TYPE}; version=1`))
    const reader = await CarReader.fromBytes(new Uint8Array(await res.arrayBuffer()))
    expect((await reader.getRoots()).map(String)).toEqual([cid.toString()])
    const blocks = []
    for await (const block of reader.blocks()) {
      expect(digestOf(block.bytes).equals(Buffer.from(block.cid.multihash.digest))).toBe(true)
      blocks.push(block)
    }
    expect(blocks).toHaveLength(1 + 6) // the file node and six 1 MiB leaves
    expect(blocks[0]?.cid.toString()).toBe(cid.toString())
    const leaves = Buffer.concat(blocks.slice(1).map(b => b.bytes))
    expect(leaves.equals(data)).toBe(true)
    const one = await CarReader.fromBytes(new Uint8Array(await (await fetch(`${base}/ipfs/${cid.toString()}?format=car&dag-scope=block`)).arrayBuffer()))
    let count = 0
    for await (const _ of one.blocks()) count++
    expect(count).toBe(1)
  })

  it('refuses what it cannot answer', async () => {
    expect((await fetch(`${base}/ipfs/bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykv?format=raw`)).status).toBe(400)
    expect((await fetch(`${base}/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw`)).status).toBe(404)
    expect((await fetch(`${base}/ipfs/${cid.toString()}?format=raw`, { method: 'POST' })).status).toBe(405)
    expect((await fetch(`${base}/ipfs/${cid.toString()}/some/path?format=raw`)).status).toBe(400)
    expect((await fetch(`${base}/ipfs/${cid.toString()}?format=tar`)).status).toBe(406)
    // a raw CID with another hash (identity), and a bad % escape: refused as input, not a 500
    const identity = CID.createV1(0x55, createDigest(0x00, Uint8Array.of(1, 2, 3)))
    expect((await fetch(`${base}/ipfs/${identity.toString()}?format=raw`)).status).toBe(400)
    expect((await fetch(`${base}/ipfs/%E0%A4%A?format=raw`)).status).toBe(400)
  })

  it("serves a stock Helia whose only route is its trustless-gateway client", async () => {
    const helia = createHelia({
      libp2p: { addresses: { listen: [] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], peerDiscovery: [], services: { identify: identify() } },
      http: { delegatedRouters: [], recursiveGateways: [base], allowInsecure: true, allowLocal: true }
    })
    await helia.start()
    try {
      const parts: Uint8Array[] = []
      for await (const chunk of unixfs(helia).cat(cid, { signal: AbortSignal.timeout(20_000) })) parts.push(chunk)
      expect(Buffer.concat(parts).equals(data)).toBe(true)
    } finally {
      await helia.stop()
    }
  })
})
