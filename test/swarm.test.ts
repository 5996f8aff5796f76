import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CLI, sha256File, startDaemon, stopAll, tempDir, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'
import { within } from '../examples/support/cli-process.js'

const MiB = 1024 * 1024

interface Status { uploaded: number, downloaded: number, peers: number, dhtPeers: number }

async function statusOf (d: Daemon): Promise<Status> {
  const res = await d.cli(['status', '--json'])
  expect(res.code, res.stderr).toBe(0)
  return JSON.parse(res.stdout) as Status
}

let dir: string
afterEach(async () => { await stopAll() })
afterAll(async () => { if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true }) })

describe('swarm', () => {
  it('finds content through DHT hops: ten daemons in a chain, fetch by bare id on the last', async () => {
    dir ??= await tempDir()
    const base = path.join(dir, 'chain')
    const nodes: Daemon[] = []
    for (let i = 0; i < 10; i++) {
      const prev = nodes[i - 1]
      nodes.push(await startDaemon(path.join(base, `n${i}`), prev !== undefined ? ['--bootstrap', prev.addrs[0] ?? ''] : []))
    }
    const first = nodes[0] as Daemon
    const last = nodes[9] as Daemon
    const src = path.join(base, 'chain.bin')
    await writeRandomFile(src, 5 * MiB + 3, 11)
    const { cid } = await shareFile(first, src)

    // the last node was told only of node 8: the DHT leads it to the sharer
    const out = path.join(base, 'copy.bin')
    const fetched = await last.cli(['fetch', cid, '-o', out, '--json'])
    expect(fetched.code, fetched.stderr + last.log()).toBe(0)
    expect(await sha256File(out)).toBe(await sha256File(src))
  })

  it('finds peers on the LAN with mDNS, with no bootstrap address; a daemon started later connects to them at once', async () => {
    dir ??= await tempDir()
    const a = await startDaemon(path.join(dir, 'mdns-a'), ['--mdns'])
    const b = await startDaemon(path.join(dir, 'mdns-b'), ['--mdns'])
    // each sees the other connect (discovery dials; either side may win)
    await Promise.all([
      a.waitForEvent(e => e.event === 'peer:connect' && e.peerId === b.peerId),
      b.waitForEvent(e => e.event === 'peer:connect' && e.peerId === a.peerId)
    ])
    // a daemon started later hears the others answer its first query while
    // libp2p is still starting; it must dial them then, not at the next query
    // (MDNS_INTERVAL_MS, 60 s): 30 s is a deadline, not a wait
    const c = await startDaemon(path.join(dir, 'mdns-c'), ['--mdns'])
    const bothSeen = Promise.all([a.peerId, b.peerId].map(async id => await c.waitForEvent(e => e.event === 'peer:connect' && e.peerId === id)))
    if (await within(bothSeen, 30_000) === 'timeout') throw new Error('the later daemon did not connect to both within 30 s')
    const src = path.join(dir, 'mdns.bin')
    await writeRandomFile(src, 2 * MiB, 14)
    const { cid } = JSON.parse((await a.cli(['share', src, '--json'])).stdout) as { cid: string }
    const res = await b.cli(['fetch', cid, '-o', path.join(dir, 'mdns-copy.bin')])
    expect(res.code, res.stderr).toBe(0)
    expect(await sha256File(path.join(dir, 'mdns-copy.bin'))).toBe(await sha256File(src))
  })

  it('one seeder and four leechers at once: all verified, leechers feed each other', async () => {
    dir ??= await tempDir()
    const base = path.join(dir, 'fan')
    const seeder = await startDaemon(path.join(base, 'seed'))
    const leechers = await Promise.all([1, 2, 3, 4].map(async i => await startDaemon(path.join(base, `l${i}`), ['--bootstrap', seeder.addrs[0] ?? ''])))
    const size = 48 * MiB
    const src = path.join(base, 'fan.bin')
    await writeRandomFile(src, size, 12)
    const { cid } = JSON.parse((await seeder.cli(['share', src, '--json'])).stdout) as { cid: string }

    const results = await Promise.all(leechers.map(async (l, i) => await l.cli(['fetch', cid, '-o', path.join(base, `out${i}.bin`), '--json'])))
    const want = await sha256File(src)
    for (const [i, r] of results.entries()) {
      expect(r.code, r.stderr + (leechers[i] as Daemon).log()).toBe(0)
      expect(await sha256File(path.join(base, `out${i}.bin`))).toBe(want)
    }
    const seed = await statusOf(seeder)
    const leech = await Promise.all(leechers.map(statusOf))
    const fromPeers = leech.reduce((n, s) => n + s.uploaded, 0)
    console.log(`1→4 swarm, ${size / MiB} MiB: seeder uploaded ${(seed.uploaded / size).toFixed(2)}x the file; leechers uploaded ${(fromPeers / size).toFixed(2)}x to each other`)
    // every leecher downloaded exactly the file; what the seeder did not send, leechers did
    for (const s of leech) expect(s.downloaded).toBeGreaterThanOrEqual(size)
    expect(seed.uploaded).toBeLessThanOrEqual(2.5 * size)
    expect(fromPeers).toBeGreaterThan(0)
  })

  it('a peer that joins mid-transfer with the file becomes a source', async () => {
    dir ??= await tempDir()
    const base = path.join(dir, 'join')
    const seeder = await startDaemon(path.join(base, 'seed'))
    const fetcher = await startDaemon(path.join(base, 'fetcher'), ['--bootstrap', seeder.addrs[0] ?? ''])
    const src = path.join(base, 'join.bin')
    await writeRandomFile(src, 24 * MiB, 13)
    const { cid } = JSON.parse((await seeder.cli(['share', src, '--json'])).stdout) as { cid: string }

    // start the fetch and freeze the seeder as soon as the transfer has begun
    const out = path.join(base, 'copy.bin')
    const fetch = spawn(process.execPath, [CLI, 'fetch', cid, '-o', out, '--json', '--repo', fetcher.repo], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    fetch.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    const exited = new Promise<number | null>(resolve => fetch.once('exit', resolve))
    await new Promise<void>((resolve, reject) => {
      fetch.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        if (stdout.includes('"type":"manifest"')) resolve()
      })
      void exited.then(() => { reject(new Error(`fetch ended before it started: ${stdout}${stderr}`)) })
    })
    seeder.proc.kill('SIGSTOP')
    try {
      // a new node with the same file joins, connected to the fetcher
      const joiner = await startDaemon(path.join(base, 'joiner'), ['--bootstrap', fetcher.addrs[0] ?? ''])
      const copy = path.join(base, 'joiner-has.bin')
      await fs.copyFile(src, copy)
      const shared = await joiner.cli(['share', copy, '--json'])
      expect((JSON.parse(shared.stdout) as { cid: string }).cid).toBe(cid)

      expect(await exited, stderr + fetcher.log()).toBe(0)
      expect(stdout).toContain('"done":true')
      expect(await sha256File(out)).toBe(await sha256File(src))
      const js = await statusOf(joiner)
      expect(js.uploaded).toBeGreaterThan(0)
    } finally {
      seeder.proc.kill('SIGCONT')
    }
  })
})
