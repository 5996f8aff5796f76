/**
 * IPFS interop end to end: a real `shoal daemon` and the real CLI against a
 * stock Helia node (helia 7, its own bitswap) in the test process. Helia
 * cats a Shoal share by its CID; Shoal fetches what only Helia holds, as a
 * file, a CIDv0 file and a directory; a fetch killed with the daemon resumes
 * when it restarts; cat and files take the UnixFS CIDs of what it holds.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { importer } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { offlineUnixfs, startHelia } from '../examples/support/helia-node.js'
import type { HeliaNode } from '../examples/support/helia-node.js'
import { ndjson, sha256File, shoal, startDaemon, stopAll, tempDir, treeDigest, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024

async function catSha (helia: HeliaNode, cid: string, options: { path?: string } = {}): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of helia.fs.cat(CID.parse(cid), { ...options, signal: AbortSignal.timeout(60_000) })) hash.update(chunk)
  return hash.digest('hex')
}

async function until<T> (what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const value = await fn()
    if (value !== undefined) return value
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('IPFS interop: a Shoal daemon and a stock Helia node', () => {
  let dir: string
  let d: Daemon
  let helia: HeliaNode

  beforeAll(async () => {
    dir = await tempDir()
    ;[d, helia] = await Promise.all([startDaemon(path.join(dir, 'repo')), startHelia()])
  })

  afterAll(async () => {
    await helia.stop()
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('share gives the UnixFS CID Helia computes, and Helia cats a 40 MiB share by it', async () => {
    const src = path.join(dir, 'big.bin')
    await writeRandomFile(src, 40 * MiB + 17, 3)
    const shared = await d.cli(['share', src, '--json'])
    expect(shared.code, shared.stderr).toBe(0)
    const { ipfs } = JSON.parse(shared.stdout) as { ipfs: string }
    const bytes = await fs.readFile(src)
    expect(ipfs).toBe((await offlineUnixfs().addBytes(bytes)).toString())
    const human = await d.cli(['share', src])
    expect(human.stdout).toContain(`ipfs:       ${ipfs}`)
    const ls = JSON.parse((await d.cli(['ls', '--json'])).stdout) as { shares: Array<{ ipfs?: string }> }
    expect(ls.shares.map(s => s.ipfs)).toContain(ipfs)

    await helia.helia.libp2p.dial(multiaddr(d.addrs[0] as string))
    expect(await catSha(helia, ipfs)).toBe(await sha256File(src))
  })

  it('fetches a file only Helia holds (CIDv1, and CIDv0) with --peer, and ends as a share', async () => {
    const data = Buffer.alloc(24 * MiB + 5)
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i, i)
    const v1 = await helia.fs.addBytes(data)
    const out = path.join(dir, 'from-helia.bin')
    const fetched = await d.cli(['fetch', v1.toString(), '--peer', helia.addrs[0] as string, '-o', out, '--json'])
    expect(fetched.code, fetched.stderr + d.log()).toBe(0)
    expect(ndjson(fetched.stdout).at(-1)).toMatchObject({ done: true, path: out, cid: v1.toString() })
    expect(await sha256File(out)).toBe(createHash('sha256').update(data).digest('hex'))
    const ls = JSON.parse((await d.cli(['ls', '--json'])).stdout) as { shares: Array<{ path: string, ipfs?: string, origin: string }> }
    expect(ls.shares.find(s => s.path === out)).toMatchObject({ ipfs: v1.toString(), origin: 'fetched' })

    let v0: CID | undefined
    for await (const e of importer([{ content: data.subarray(0, 3 * MiB) }], helia.helia.blockstore, { profile: 'unixfs-v0-2015' })) v0 = e.cid
    const out0 = path.join(dir, 'v0.bin')
    const res0 = await d.cli(['fetch', (v0 as CID).toString(), '--peer', helia.addrs[0] as string, '-o', out0])
    expect(res0.code, res0.stderr).toBe(0)
    expect((await fs.readFile(out0)).equals(data.subarray(0, 3 * MiB))).toBe(true)
  })

  it('a directory both ways', async () => {
    // Shoal -> Helia
    const src = path.join(dir, 'tree')
    await fs.mkdir(path.join(src, 'a/b'), { recursive: true })
    await fs.mkdir(path.join(src, 'empty'))
    await writeRandomFile(path.join(src, 'a/b/data.bin'), 2 * MiB + 3, 4)
    await fs.writeFile(path.join(src, 'a/none.txt'), '')
    const { ipfs } = JSON.parse((await d.cli(['share', src, '--json'])).stdout) as { ipfs: string }
    expect(await catSha(helia, ipfs, { path: 'a/b/data.bin' })).toBe(await sha256File(path.join(src, 'a/b/data.bin')))
    const names: string[] = []
    for await (const e of helia.fs.ls(CID.parse(ipfs))) names.push(e.name)
    expect(names.sort()).toEqual(['a', 'empty'])

    // Helia -> Shoal
    let root: CID | undefined
    const files = { 'x/one.txt': Buffer.from('one'), 'x/two.bin': Buffer.alloc(MiB + 1, 2), 'z.txt': Buffer.alloc(0) }
    for await (const e of importer([...Object.entries(files).map(([p, content]) => ({ path: p, content })), { path: 'x/hollow' }], helia.helia.blockstore, { wrapWithDirectory: true, profile: 'unixfs-v1-2025' })) root = e.cid
    const out = path.join(dir, 'tree-from-helia')
    const res = await d.cli(['fetch', (root as CID).toString(), '--peer', helia.addrs[0] as string, '-o', out])
    expect(res.code, res.stderr).toBe(0)
    const digest = await treeDigest(out)
    for (const [p, content] of Object.entries(files)) expect(digest[p]).toBe(createHash('sha256').update(content).digest('hex'))
    expect((await fs.readdir(path.join(out, 'x/hollow')))).toEqual([])
  })

  it('a fetch killed with its daemon resumes when the daemon restarts', async () => {
    const data = Buffer.alloc(256 * MiB)
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE(i ^ 0x5a5a5a5a, i)
    const cid = (await helia.fs.addBytes(data)).toString()
    const repo = path.join(dir, 'crash')
    const out = path.join(dir, 'crash.bin')
    const first = await startDaemon(repo)
    const started = await first.cli(['fetch', cid, '--peer', helia.addrs[0] as string, '-o', out, '--detach', '--json'])
    expect(started.code, started.stderr).toBe(0)
    const received = await until('some bytes', async () => {
      const ls = JSON.parse((await first.cli(['ls', '--json'])).stdout) as { downloads: Array<{ cid: string, received: number }> }
      const got = ls.downloads.find(x => x.cid === cid)?.received ?? 0
      return got > 0 ? got : undefined
    })
    await first.kill('SIGKILL')
    // killed in the middle, not after it finished
    expect(received).toBeLessThan(data.length)
    const second = await startDaemon(repo)
    await until('the resumed fetch to finish', async () => {
      const ls = JSON.parse((await second.cli(['ls', '--json'])).stdout) as { shares: Array<{ ipfs?: string }>, downloads: Array<{ cid: string }> }
      return ls.shares.some(s => s.ipfs === cid) && !ls.downloads.some(x => x.cid === cid) ? true : undefined
    }, 90_000)
    expect(await sha256File(out)).toBe(createHash('sha256').update(data).digest('hex'))
  })

  it('cat and files read by UnixFS CID what this node holds: a share, a file of it, a file fetched from Helia', async () => {
    const src = path.join(dir, 'by-cid')
    await fs.mkdir(path.join(src, 'sub'), { recursive: true })
    await fs.writeFile(path.join(src, 'a.txt'), 'one')
    await fs.writeFile(path.join(src, 'sub/b.txt'), 'two')
    const { ipfs } = JSON.parse((await d.cli(['share', src, '--json'])).stdout) as { ipfs: string }
    const byPath = await d.cli(['cat', ipfs, 'sub/b.txt'])
    expect(byPath.code, byPath.stderr).toBe(0)
    expect(byPath.stdout).toBe('two')
    const listed = JSON.parse((await d.cli(['files', ipfs, '--json'])).stdout) as { files: Array<{ path: string, ipfs: string }> }
    const fileCid = listed.files.find(f => f.path === 'sub/b.txt')?.ipfs as string
    expect((await d.cli(['cat', fileCid])).stdout).toBe('two')
    const one = JSON.parse((await d.cli(['files', fileCid, '--json'])).stdout) as { size: number, files: Array<{ path: string }> }
    expect(one.files.map(f => f.path)).toEqual(['sub/b.txt'])
    expect(one.size).toBe(3)
    const inside = await d.cli(['cat', fileCid, 'x'])
    expect(inside.code).toBe(1)
    expect(inside.stderr).toContain('is a file (sub/b.txt)')
    // fetched from Helia over Bitswap, then read by the CID it was fetched by
    const cid = (await helia.fs.addBytes(Buffer.from('from helia'))).toString()
    const fetched = await d.cli(['fetch', cid, '--peer', helia.addrs[0] as string, '-o', path.join(dir, 'from-helia.txt')])
    expect(fetched.code, fetched.stderr).toBe(0)
    expect((await d.cli(['cat', cid])).stdout).toBe('from helia')
    // not held here: a clear error saying what to do
    const missing = (await helia.fs.addBytes(Buffer.from('never fetched'))).toString()
    const res = await d.cli(['cat', missing])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(`shoal fetch ${missing}`)
  })

  it('refuses a malformed CID before asking the daemon (exit 2)', async () => {
    const res = await shoal(['fetch', 'bafynotacid', '--repo', d.repo])
    expect(res.code).toBe(2)
  })
})
