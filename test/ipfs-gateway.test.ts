/**
 * The IPFS trustless gateway on a real daemon's HTTP gateway (`--gateway`):
 * `/ipfs/<cid>?format=car` gives the share's whole DAG, every block matching
 * its CID; `?format=raw` one block, the file's own bytes for a leaf; the Host
 * check covers these routes as it does /shoal/.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { CarReader } from '@ipld/car'
import { decode as decodeDagPb } from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startDaemon, stopAll, tempDir, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024

/** One GET, the whole body in memory (these replies are a few MiB). */
async function get (url: string, headers: Record<string, string> = {}): Promise<{ status: number, type: string, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    http.get(url, { headers }, res => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(parts) }) })
      res.on('error', reject)
    }).on('error', reject)
  })
}

describe('the IPFS trustless gateway on a daemon', () => {
  let dir: string
  let d: Daemon
  let gateway: string
  let src: string
  let ipfs: string

  beforeAll(async () => {
    dir = await tempDir()
    d = await startDaemon(path.join(dir, 'repo'), ['--gateway', '127.0.0.1:0'])
    gateway = String((await d.waitForEvent(e => e.event === 'ready')).gateway)
    src = path.join(dir, 'file.bin')
    await writeRandomFile(src, 3 * MiB + 5, 9)
    const shared = await d.cli(['share', src, '--json'])
    expect(shared.code, shared.stderr).toBe(0)
    ;({ ipfs } = JSON.parse(shared.stdout) as { ipfs: string })
  })
  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('?format=car is the whole DAG under the CID, each block matching its CID, and the leaves are the file', async () => {
    const car = await get(`${gateway}/ipfs/${ipfs}?format=car`)
    expect(car.status).toBe(200)
    expect(car.type).toContain('application/vnd.ipld.car')
    const reader = await CarReader.fromBytes(car.body)
    expect((await reader.getRoots()).map(r => r.toString())).toEqual([ipfs])
    const leaves: Buffer[] = []
    let blocks = 0
    for await (const { cid, bytes } of reader.blocks()) {
      blocks++
      expect(Buffer.from(createHash('sha256').update(bytes).digest())).toEqual(Buffer.from(cid.multihash.digest))
      if (cid.code === 0x55) leaves.push(Buffer.from(bytes))
    }
    expect(blocks).toBe(5) // 4 raw leaves of at most 1 MiB and their dag-pb root
    expect(Buffer.concat(leaves).equals(await fs.readFile(src))).toBe(true) // depth first: the leaves in file order
  })

  it('?format=raw is one block: the root node, or a leaf that is the first MiB of the file', async () => {
    const root = await get(`${gateway}/ipfs/${ipfs}?format=raw`)
    expect(root.status).toBe(200)
    expect(root.type).toBe('application/vnd.ipld.raw')
    const reader = await CarReader.fromBytes((await get(`${gateway}/ipfs/${ipfs}?format=car&dag-scope=block`)).body)
    const [only] = await reader.getRoots()
    expect(only?.toString()).toBe(ipfs)
    // the first link of the root is the first leaf
    const first = decodeDagPb(root.body).Links[0]?.Hash as CID
    const leaf = await get(`${gateway}/ipfs/${first.toString()}?format=raw`)
    expect(leaf.status).toBe(200)
    expect(leaf.body.equals((await fs.readFile(src)).subarray(0, MiB))).toBe(true)
  })

  it('refuses what it does not hold, other formats, and a foreign Host', async () => {
    const unknown = 'bafkreigks6arfsq3xxfpvqrrwonchxcnu6do76auprhhfomao6c273sixm' // the byte "a", not shared here
    expect((await get(`${gateway}/ipfs/${unknown}?format=raw`)).status).toBe(404)
    expect((await get(`${gateway}/ipfs/${ipfs}?format=tar`)).status).toBe(406)
    expect((await get(`${gateway}/ipfs/not-a-cid?format=raw`)).status).toBe(400)
    expect((await get(`${gateway}/ipfs/${ipfs}?format=raw`, { host: 'evil.example' })).status).toBe(403)
  })
})
