/**
 * Multi-host tests: daemons on their own hosts (network namespaces on a
 * bridge), with upload caps set by tc tbf. Skipped, with the reason printed,
 * where namespaces cannot be made (not root, not Linux).
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { sha256File, startDaemon, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'
import { netTestFile } from './net-test.js'

const MiB = 1024 * 1024
const file = await netTestFile('net-multihost')

interface PeerRow { peerId: string, downloaded: number, uploaded: number }

describe.skipIf(file.unavailable !== undefined)('multi-host (network namespaces)', () => {
  it('pulls from three capped seeders at once, near the sum of their caps, in proportion to their rates', async () => {
    const dir = await file.dir()
    const caps = { s1: '40mbit', s2: '40mbit', s3: '80mbit' } as const
    const net = await file.hosts([
      { name: 's1', uploadCap: caps.s1 },
      { name: 's2', uploadCap: caps.s2 },
      { name: 's3', uploadCap: caps.s3 },
      { name: 'f' }
    ])
    const src = path.join(dir, 'multi.bin')
    await writeRandomFile(src, 48 * MiB, 21)
    const seeders: Daemon[] = []
    for (const name of ['s1', 's2', 's3']) {
      const h = net.host(name)
      seeders.push(await startDaemon(path.join(dir, name), [], { netns: h.ns, listen: `/ip4/${h.addr}/tcp/4001` }))
    }
    let cid = ''
    for (const s of seeders) {
      cid = (await shareFile(s, src)).cid
    }
    const fh = net.host('f')
    const fetcher = await startDaemon(path.join(dir, 'f'), seeders.flatMap(s => ['--bootstrap', s.addrs[0] ?? '']), { netns: fh.ns, listen: `/ip4/${fh.addr}/tcp/4001` })
    await fetcher.waitForEvent(e => e.event === 'peer:connect' && e.peerId === seeders[2]?.peerId)

    const out = path.join(dir, 'multi.copy')
    const res = await fetcher.cli(['fetch', cid, '-o', out, '--json'])
    expect(res.code, res.stderr + fetcher.log()).toBe(0)
    expect(await sha256File(out)).toBe(await sha256File(src))
    const done = res.stdout.trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>).find(e => e.type === 'done') as { seconds: number }
    const rate = 48 * MiB / done.seconds
    const capSum = (net.host('s1').uploadCapBits! + net.host('s2').uploadCapBits! + net.host('s3').uploadCapBits!) / 8
    const { peers } = JSON.parse((await fetcher.cli(['peers', '--json'])).stdout) as { peers: PeerRow[] }
    const from = (d: Daemon): number => peers.find(p => p.peerId === d.peerId)?.downloaded ?? 0
    const [slowA, slowB, fast] = seeders.map(from) as [number, number, number]
    console.log(`[net-multihost] 48 MiB from 3 capped seeders in ${done.seconds.toFixed(2)} s: ${(rate / 1e6).toFixed(1)} MB/s = ${(rate / capSum).toFixed(2)}x the sum of caps (${(capSum / 1e6).toFixed(1)} MB/s); MiB from s1/s2/s3 (caps 5/5/10 MB/s): ${(slowA / MiB).toFixed(1)}/${(slowB / MiB).toFixed(1)}/${(fast / MiB).toFixed(1)}`)
    // payload can't beat the caps (tbf counts headers too); it should get most of them
    expect(rate).toBeLessThan(capSum * 1.05)
    expect(rate).toBeGreaterThan(capSum * 0.7)
    // the fast seeder carried about twice what each slow one did
    expect(fast / ((slowA + slowB) / 2)).toBeGreaterThan(1.4)
    expect(fast / ((slowA + slowB) / 2)).toBeLessThan(2.8)
  }, 120_000)
})
