/**
 * Bandwidth caps (--max-upload, --max-download, per peer, config.json) on
 * real daemons over 127.0.0.1. The caps are the only limit here, so the rate
 * achieved must sit at the cap: a bound on both sides, generous on the low one.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CLI, sha256File, shoal, startDaemon, stopAll, tempDir, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024
let dir: string
afterEach(async () => { await stopAll() })
afterAll(async () => { if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true }) })

interface Status { uploadRate: number, downloadRate: number, limits: { upload: number, download: number, uploadPerPeer: number, downloadPerPeer: number } }
interface PeerRow { peerId: string, downloaded: number, downloadRate: number }

async function statusOf (d: Daemon): Promise<Status> {
  const res = await d.cli(['status', '--json'])
  expect(res.code, res.stderr).toBe(0)
  return JSON.parse(res.stdout) as Status
}

async function seeded (names: string[], src: string, args: string[] = []): Promise<{ seeders: Daemon[], cid: string }> {
  const seeders: Daemon[] = []
  let cid = ''
  for (const name of names) {
    const d = await startDaemon(path.join(dir, name), args)
    cid = (await shareFile(d, src)).cid
    seeders.push(d)
  }
  return { seeders, cid }
}

/**
 * Run `shoal fetch --json` and call `during` once, when half the bytes are in:
 * the moment to read live rates. Resolves with the fetch's seconds.
 */
async function fetchWatching (fetcher: Daemon, cid: string, out: string, during: () => Promise<void>): Promise<number> {
  const child = spawn(process.execPath, [CLI, 'fetch', cid, '-o', out, '--json', '--repo', fetcher.repo], { stdio: ['ignore', 'pipe', 'pipe'] })
  let buffered = ''
  let stderr = ''
  let checked: Promise<void> | undefined
  let seconds = Number.NaN
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString()
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const e = JSON.parse(buffered.slice(0, nl)) as { type: string, received?: number, size?: number, seconds?: number }
      buffered = buffered.slice(nl + 1)
      if (e.type === 'progress' && checked === undefined && (e.received ?? 0) >= (e.size ?? 1) / 2) checked = during()
      if (e.type === 'done') seconds = e.seconds ?? Number.NaN
    }
  })
  const code = await new Promise<number | null>(resolve => { child.once('exit', resolve) })
  expect(code, stderr).toBe(0)
  expect(checked, 'a progress event past half-way').toBeDefined()
  await checked
  return seconds
}

describe('bandwidth limits', () => {
  it('--max-upload holds a seeder to its cap, and status shows the live rate and the cap', async () => {
    dir ??= await tempDir()
    const src = path.join(dir, 'up.bin')
    const size = 9 * MiB
    await writeRandomFile(src, size, 41)
    const cap = 3 * MiB
    const { seeders: [seeder], cid } = await seeded(['up-s'], src, ['--max-upload', '3MiB/s'])
    const fetcher = await startDaemon(path.join(dir, 'up-f'), ['--bootstrap', seeder!.addrs[0] ?? ''])
    const out = path.join(dir, 'up.copy')
    let live: Status | undefined
    const seconds = await fetchWatching(fetcher, cid, out, async () => { live = await statusOf(seeder!) })
    expect(await sha256File(out)).toBe(await sha256File(src))
    const rate = size / seconds
    console.log(`[bandwidth] --max-upload 3MiB/s: ${(rate / MiB).toFixed(2)} MiB/s over ${seconds.toFixed(2)} s; seeder status mid-way: ${((live?.uploadRate ?? 0) / MiB).toFixed(2)} MiB/s`)
    expect(rate).toBeLessThan(cap * 1.15)
    expect(rate).toBeGreaterThan(cap * 0.7)
    expect(live?.limits.upload).toBe(cap)
    expect(live?.uploadRate).toBeGreaterThan(cap * 0.4)
    expect(live?.uploadRate).toBeLessThan(cap * 1.3)
  }, 60_000)

  it('--max-download-per-peer holds each of two seeders to the cap; --max-download caps them together', async () => {
    dir ??= await tempDir()
    const src = path.join(dir, 'down.bin')
    const size = 8 * MiB
    await writeRandomFile(src, size, 42)
    const { seeders, cid } = await seeded(['down-s1', 'down-s2'], src)
    const bootstrap = seeders.flatMap(s => ['--bootstrap', s.addrs[0] ?? ''])

    const perPeer = await startDaemon(path.join(dir, 'down-pp'), ['--max-download-per-peer', '1MiB/s', ...bootstrap])
    await perPeer.waitForEvent(e => e.event === 'peer:connect' && e.peerId === seeders[1]?.peerId)
    let rows: PeerRow[] = []
    const s1 = await fetchWatching(perPeer, cid, path.join(dir, 'down-pp.copy'), async () => {
      rows = (JSON.parse((await perPeer.cli(['peers', '--json'])).stdout) as { peers: PeerRow[] }).peers
    })
    const perPeerRate = size / s1
    const total = await statusOf(perPeer)
    console.log(`[bandwidth] --max-download-per-peer 1MiB/s, 2 seeders: ${(perPeerRate / MiB).toFixed(2)} MiB/s; per peer mid-way: ${rows.map(r => (r.downloadRate / MiB).toFixed(2)).join(', ')} MiB/s`)
    expect(total.limits.downloadPerPeer).toBe(MiB)
    expect(perPeerRate).toBeLessThan(2 * MiB * 1.15)
    expect(perPeerRate).toBeGreaterThan(2 * MiB * 0.7)
    for (const r of rows) expect(r.downloadRate).toBeLessThan(MiB * 1.3)

    const global = await startDaemon(path.join(dir, 'down-g'), ['--max-download', '1.5MiB/s', ...bootstrap])
    await global.waitForEvent(e => e.event === 'peer:connect' && e.peerId === seeders[1]?.peerId)
    const s2 = await fetchWatching(global, cid, path.join(dir, 'down-g.copy'), async () => {})
    const globalRate = size / s2
    console.log(`[bandwidth] --max-download 1.5MiB/s, 2 seeders: ${(globalRate / MiB).toFixed(2)} MiB/s`)
    expect(globalRate).toBeLessThan(1.5 * MiB * 1.15)
    expect(globalRate).toBeGreaterThan(1.5 * MiB * 0.7)
    expect(await sha256File(path.join(dir, 'down-g.copy'))).toBe(await sha256File(src))
  }, 60_000)

  it('a slow link (one chunk takes 7 s) is not mistaken for a silent peer: bytes arriving count', async () => {
    dir ??= await tempDir()
    const src = path.join(dir, 'slow.bin')
    const size = MiB + 200 * 1024
    await writeRandomFile(src, size, 43)
    const { seeders: [seeder], cid } = await seeded(['slow-s'], src, ['--max-upload', '150KB/s'])
    const fetcher = await startDaemon(path.join(dir, 'slow-f'), ['--bootstrap', seeder!.addrs[0] ?? ''], { env: { DEBUG: 'shoal:download' } })
    const out = path.join(dir, 'slow.copy')
    const res = await fetcher.cli(['fetch', cid, '-o', out, '--json'])
    expect(res.code, res.stderr).toBe(0)
    expect(await sha256File(out)).toBe(await sha256File(src))
    // the silent-peer check (5 s) never fired, and nothing was asked for twice
    expect(fetcher.log()).not.toMatch(/sent nothing for/)
    expect((await statusOf(seeder!) as Status & { uploaded: number }).uploaded).toBe(size)
  }, 60_000)

  it('caps come from config.json unless a flag overrides them; a bad rate is refused with its name', async () => {
    dir ??= await tempDir()
    const repo = path.join(dir, 'cfg')
    await fs.mkdir(repo, { recursive: true, mode: 0o700 })
    await fs.writeFile(path.join(repo, 'config.json'), JSON.stringify({ maxUpload: '5MB/s', maxDownloadPerPeer: '1MiB/s' }))
    const d = await startDaemon(repo, ['--max-upload', '2MiB/s'])
    const s = await statusOf(d)
    expect(s.limits).toEqual({ upload: 2 * MiB, download: 0, uploadPerPeer: 0, downloadPerPeer: MiB })
    const human = await d.cli(['status'])
    expect(human.stdout).toMatch(/rates: +up .*\(cap 2\.0 MiB\/s\), down .*\(1\.0 MiB\/s per peer\)/)
    await d.kill()

    const bad = await shoal(['daemon', '--repo', path.join(dir, 'cfg-bad'), '--max-download', 'fast'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--max-download must be a rate such as 2MiB\/s/)
    const badCache = await shoal(['daemon', '--repo', path.join(dir, 'cfg-bad'), '--max-cache', '2MiB/s'])
    expect(badCache.code).toBe(2)
    expect(badCache.stderr).toMatch(/--max-cache must be a size such as 20GiB/)
    const set = await shoal(['config', 'set', 'maxUpload', 'lots', '--repo', repo])
    expect(set.code).toBe(2)
    expect(set.stderr).toMatch(/invalid value for "maxUpload": must be a rate/)
  }, 60_000)
})
