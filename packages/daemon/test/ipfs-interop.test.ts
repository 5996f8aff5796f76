/**
 * Shoal and a stock Helia node (helia 7, its own bitswap) in one process:
 * Shoal fetches what only Helia holds — the profile layout, Kubo's old
 * CIDv0 layout (256 KiB dag-pb leaves, 174 links) and a directory — and
 * serves it on, so a second Helia fetches it back from Shoal by the same
 * CID; a Shoal directory share is read by Helia; a paused fetch resumes; a
 * download cap holds a fetch from Helia to its rate.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { importBytes, importer } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { FetchEvent } from '@shoal/protocol'
import { createShoal } from '../src/index.js'
import type { Shoal } from '../src/index.js'
import { startHelia } from '../../../examples/support/helia-node.js'
import type { HeliaNode } from '../../../examples/support/helia-node.js'
import { startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024

function sha (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

async function catAll (helia: HeliaNode, cid: CID | string, options: { path?: string } = {}): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const chunk of helia.fs.cat(typeof cid === 'string' ? CID.parse(cid) : cid, { ...options, signal: AbortSignal.timeout(30_000) })) parts.push(chunk)
  return Buffer.concat(parts)
}

describe('Shoal and a stock Helia node', () => {
  let dir: string
  let shoal: Shoal
  let helia: HeliaNode
  let reader: HeliaNode

  beforeAll(async () => {
    dir = await tempDir()
    // 20 s: a stock Helia on a loaded 2-core machine was seen to send nothing for 5 s mid-fetch (50 MiB CIDv0)
    shoal = await startNode(dir, 'shoal', { stallTimeoutMs: 20_000 })
    helia = await startHelia()
    reader = await startHelia()
  })

  afterAll(async () => {
    await reader.stop()
    await helia.stop()
    await shoal.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('fetches a file only Helia holds (unixfs-v1-2025 layout), then serves it to another Helia', async () => {
    const data = randomBytes(5 * MiB + 77)
    const cid = await helia.fs.addBytes(data)
    const out = path.join(dir, 'profile.bin')
    const result = await shoal.fetch(cid.toString(), { out, peers: [helia.addrs[0] as string] })
    expect(sha(await fs.readFile(result.path))).toBe(sha(data))
    const share = (await shoal.list()).shares.find(s => s.path === out)
    expect(share?.ipfs).toBe(cid.toString())
    await reader.helia.libp2p.dial(multiaddr(shoal.addrs()[0] as string))
    expect(sha(await catAll(reader, cid))).toBe(sha(data))
  })

  it("fetches Kubo's old CIDv0 layout (256 KiB dag-pb leaves, 174 links) and serves it by the same CIDv0", async () => {
    const data = randomBytes(50 * MiB + 3) // 201 leaves: two levels of 174-link nodes
    const { cid } = await importBytes(data, helia.helia.blockstore, { profile: 'unixfs-v0-2015' })
    expect(cid.version).toBe(0)
    const out = path.join(dir, 'v0.bin')
    await shoal.fetch(cid.toString(), { out, peers: [helia.addrs[0] as string] })
    expect(sha(await fs.readFile(out))).toBe(sha(data))
    expect(sha(await catAll(reader, cid))).toBe(sha(data))
  })

  it('fetches a directory only Helia holds, empty file and empty directory included', async () => {
    const files = { 'a.txt': randomBytes(1234), 'sub/empty.txt': new Uint8Array(0), 'sub/deep/b.bin': randomBytes(2 * MiB + 9) }
    let root: CID | undefined
    for await (const e of importer([...Object.entries(files).map(([p, content]) => ({ path: p, content })), { path: 'nothing' }], helia.helia.blockstore, { wrapWithDirectory: true, profile: 'unixfs-v1-2025' })) root = e.cid
    const out = path.join(dir, 'tree')
    await shoal.fetch((root as CID).toString(), { out, peers: [helia.addrs[0] as string] })
    for (const [p, content] of Object.entries(files)) expect(sha(await fs.readFile(path.join(out, p)))).toBe(sha(content))
    expect((await fs.stat(path.join(out, 'nothing'))).isDirectory()).toBe(true)
    expect(await fs.readdir(path.join(out, 'nothing'))).toEqual([])
    // Shoal's own layout of what it saved is the same CID
    const share = (await shoal.list()).shares.find(s => s.path === out)
    expect(share?.ipfs).toBe((root as CID).toString())
  })

  it('serves a directory share that Helia reads file by file', async () => {
    const src = path.join(dir, 'shared-tree')
    await fs.mkdir(path.join(src, 'x/y'), { recursive: true })
    await fs.mkdir(path.join(src, 'empty'))
    const big = randomBytes(3 * MiB + 1)
    await fs.writeFile(path.join(src, 'x/y/big.bin'), big)
    await fs.writeFile(path.join(src, 'note.txt'), 'hello from shoal')
    const shared = await shoal.share(src)
    const names: string[] = []
    for await (const entry of reader.fs.ls(CID.parse(shared.ipfs as string), { signal: AbortSignal.timeout(20_000) })) names.push(entry.name)
    expect(names.sort()).toEqual(['empty', 'note.txt', 'x'])
    expect((await catAll(reader, shared.ipfs as string, { path: 'x/y/big.bin' })).equals(big)).toBe(true)
    expect((await catAll(reader, shared.ipfs as string, { path: 'note.txt' })).toString()).toBe('hello from shoal')
  })

  it('a paused fetch keeps what it has and resumes', async () => {
    const data = randomBytes(128 * MiB)
    const cid = await helia.fs.addBytes(data)
    const out = path.join(dir, 'resumed.bin')
    // Helia does not send a block again within 5 s of sending it: the blocks in
    // flight when the fetch paused come back only after that, so the resumed
    // fetch needs more than the helper's 5 s stall timeout
    const shoal = await createShoal({ repo: path.join(dir, 'patient'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false })
    await shoal.start()
    onTestFinished(async () => { await shoal.stop() })
    const controller = new AbortController()
    const first = shoal.fetch(cid.toString(), {
      out,
      peers: [helia.addrs[0] as string],
      signal: controller.signal,
      onProgress: (e: FetchEvent) => { if (e.type === 'progress' && e.received > 0) controller.abort() }
    })
    await expect(first).rejects.toMatchObject({ code: 'ABORTED' })
    const paused = (await shoal.list()).downloads.find(d => d.cid === cid.toString())
    expect(paused?.state).toBe('paused')
    const result = await shoal.fetch(cid.toString(), { peers: [helia.addrs[0] as string] })
    expect(result.path).toBe(out)
    expect(sha(await fs.readFile(out))).toBe(sha(data))
    expect((await shoal.list()).downloads.find(d => d.cid === cid.toString())).toBeUndefined()
  })

  it('holds a fetch from Helia to the download cap, and the copy is whole', async () => {
    const data = randomBytes(4 * MiB)
    const cid = await helia.fs.addBytes(data)
    const out = path.join(dir, 'capped.bin')
    const capped = await createShoal({ repo: path.join(dir, 'capped'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, maxDownload: '1MB/s' })
    await capped.start()
    onTestFinished(async () => { await capped.stop() })
    const started = performance.now()
    await capped.fetch(cid.toString(), { out, peers: [helia.addrs[0] as string] })
    const seconds = (performance.now() - started) / 1000
    // 4 MiB at 10^6 bytes/s, less the bucket's burst (0.1 s of it): 4.1 s at least (uncapped, well under 1 s here)
    expect(seconds).toBeGreaterThan(3.5)
    expect(seconds).toBeLessThan(30)
    expect(sha(await fs.readFile(out))).toBe(sha(data))
  })
})
