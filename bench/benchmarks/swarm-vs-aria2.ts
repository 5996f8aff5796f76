/**
 * 17. One seeder and four fetchers of the same file at once, Shoal against
 * aria2 on the same machine in the same run: all done, the seeder's upload,
 * and the CPU every process spent per GiB delivered, against a single
 * transfer's.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { writeRandomFile } from '../../examples/support/files.js'
import { aria2Missing, aria2Swarm, installTracker } from '../lib/aria2.js'
import type { Aria2Swarm } from '../lib/aria2.js'
import { fetchTimed, share, startDaemon, status, stopDaemons, verifyFile } from '../lib/daemons.js'
import { GiB, best, errText, fmtSec, fmtSize, progress, worst } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { cpuSeconds } from '../lib/sampling.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

const LEECHERS = 4
const TIME_TARGET = 1.0
const UPLOAD_TARGET = 1.3
const CPU_TARGET = 1.5

interface ShoalRun {
  seconds: number
  upload: number
  /** CPU seconds of every daemon over the phase. */
  cpu: number
}

/** One seeder, one fetcher by bare id: CPU seconds of both over the transfer. */
async function single (dir: string, src: string, hash: string, size: number, i: number): Promise<number> {
  const seeder = await startDaemon(`b10-solo-seeder${i}`)
  const { result } = await share(seeder, src)
  const fetcher = await startDaemon(`b10-solo-fetcher${i}`, [seeder.dialAddr()])
  const daemons = [seeder, fetcher]
  const cpu0 = await Promise.all(daemons.map(async d => await cpuSeconds(d.pid)))
  const out = path.join(dir, `single${i}.bin`)
  await fetchTimed(fetcher, result.cid, out, size)
  const cpu1 = await Promise.all(daemons.map(async d => await cpuSeconds(d.pid)))
  await stopDaemons()
  await verifyFile(out, hash)
  await fs.rm(out, { force: true })
  return cpu1.reduce((n, c, k) => n + c - (cpu0[k] ?? 0), 0)
}

async function shoalSwarm (dir: string, src: string, hash: string, size: number, i: number): Promise<ShoalRun> {
  const seeder = await startDaemon(`b10-seeder${i}`)
  const { result } = await share(seeder, src)
  const leechers = await Promise.all(Array.from({ length: LEECHERS }, async (_, k) => await startDaemon(`b10-leech${i}-${k}`, [seeder.dialAddr()])))
  const daemons = [seeder, ...leechers]
  const outs = leechers.map((_, k) => path.join(dir, `swarm${i}-${k}.bin`))
  const cpu0 = await Promise.all(daemons.map(async d => await cpuSeconds(d.pid)))
  const started = performance.now()
  const fetches = await Promise.allSettled(leechers.map(async (l, k) => await fetchTimed(l, result.cid, outs[k] ?? '', size)))
  const seconds = (performance.now() - started) / 1000
  const cpu1 = await Promise.all(daemons.map(async d => await cpuSeconds(d.pid)))
  const failed = fetches.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed.length > 0) throw new Error(`${failed.length} of ${LEECHERS} swarm fetches failed; first: ${errText(failed[0]?.reason)}`)
  const upload = (await status(seeder)).uploaded / size
  await stopDaemons()
  for (const out of outs) {
    await verifyFile(out, hash)
    await fs.rm(out, { force: true })
  }
  return { seconds, upload, cpu: cpu1.reduce((n, c, k) => n + c - (cpu0[k] ?? 0), 0) }
}

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.swarm4Size
  const gib = size / GiB
  const delivered = gib * LEECHERS
  const dir = await benchDir('b10')
  if (plan.installTracker) await installTracker()
  const missing = aria2Missing()
  if (missing !== undefined) progress(`  aria2 left out: ${missing}`)
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const singles: number[] = []
  const shoal: ShoalRun[] = []
  const aria2: Aria2Swarm[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    singles.push(await single(dir, src, hash, size, i))
    checkInterrupted()
    const s = await shoalSwarm(dir, src, hash, size, i)
    shoal.push(s)
    progress(`  run ${i + 1}: single transfer ${(singles[i] ?? 0 / gib).toFixed(2)} CPU s (${((singles[i] ?? 0) / gib).toFixed(1)} per GiB); Shoal 1 + ${LEECHERS}: all done ${fmtSec(s.seconds)}, seeder ${s.upload.toFixed(2)}x, ${(s.cpu / delivered).toFixed(1)} CPU s per GiB delivered`)
    if (missing === undefined) {
      checkInterrupted()
      const a = await aria2Swarm(dir, src, LEECHERS)
      aria2.push(a)
      progress(`  run ${i + 1}: aria2 1 + ${LEECHERS}: all done ${fmtSec(a.seconds)}, seeder ${(a.seederUploaded / size).toFixed(2)}x, ${(a.cpuSeconds / delivered).toFixed(1)} CPU s per GiB delivered`)
    }
  }
  const shoalBest = best(shoal.map(s => s.seconds))
  const aria2Best = aria2.length > 0 ? best(aria2.map(a => a.seconds)) : undefined
  results.row({
    bench: '17',
    what: `swarm 1 + ${LEECHERS}, ${fmtSize(size)} by id: all done (wall)`,
    figure: fmtSec(shoalBest),
    baseline: aria2Best === undefined ? `aria2: ${missing ?? ''}` : `aria2 1.36 (1 MiB pieces, local tracker, PEX) ${fmtSec(aria2Best)}`,
    ratio: aria2Best === undefined ? '-' : (shoalBest / aria2Best).toFixed(2),
    target: `<= ${TIME_TARGET.toFixed(1)}`,
    result: aria2Best === undefined ? 'skipped' : judge(shoalBest / aria2Best, '<=', TIME_TARGET),
    runs: 'better'
  })
  const upWorst = worst(shoal.map(s => s.upload))
  results.row({
    bench: '17',
    what: 'same swarm: seeder uploaded (status "uploaded" / file size)',
    figure: `${upWorst.toFixed(2)}x`,
    baseline: aria2.length > 0 ? `aria2 seeder ${(worst(aria2.map(a => a.seederUploaded)) / size).toFixed(2)}x` : `file size ${fmtSize(size)}`,
    ratio: upWorst.toFixed(2),
    target: `<= ${UPLOAD_TARGET}x`,
    result: judge(upWorst, '<=', UPLOAD_TARGET),
    runs: 'worse'
  })
  const perGib = best(shoal.map(s => s.cpu)) / delivered
  const singlePerGib = best(singles) / gib
  results.row({
    bench: '17',
    what: 'same swarm: CPU s per GiB delivered (all 5 daemons, user + system)',
    figure: perGib.toFixed(1),
    baseline: `single transfer (seeder + fetcher) ${singlePerGib.toFixed(1)}${aria2.length > 0 ? `; aria2 swarm ${(best(aria2.map(a => a.cpuSeconds)) / delivered).toFixed(1)}` : ''}`,
    ratio: (perGib / singlePerGib).toFixed(2),
    target: `<= ${CPU_TARGET}`,
    result: judge(perGib / singlePerGib, '<=', CPU_TARGET),
    runs: 'better'
  })
  results.detail(`17. ${fmtSize(size)}: single transfer CPU s = ${singles.map(c => c.toFixed(2)).join(', ')}; Shoal swarm s = ${shoal.map(s => fmtSec(s.seconds)).join(', ')}, seeder upload = ${shoal.map(s => s.upload.toFixed(2) + 'x').join(', ')}, CPU s = ${shoal.map(s => s.cpu.toFixed(1)).join(', ')}` +
    (aria2.length > 0 ? `; aria2 swarm s = ${aria2.map(a => fmtSec(a.seconds)).join(', ')}, seeder upload = ${aria2.map(a => (a.seederUploaded / size).toFixed(2) + 'x').join(', ')}, CPU s = ${aria2.map(a => a.cpuSeconds.toFixed(1)).join(', ')}` : ''))
  await fs.rm(dir, { recursive: true, force: true })
}

export const swarmVsAria2: Benchmark = {
  n: 17,
  name: 'swarm 1 + 4 vs aria2',
  run,
  method: plan => `One seeder and ${LEECHERS} fetchers of a ${fmtSize(plan.swarm4Size)} random file on 127.0.0.1, fresh
   processes each run, Shoal and aria2 in turn: Shoal's fetchers bootstrap to the
   seeder and fetch the bare id at once (all done: until the last exits);
   aria2c 1.36 (Debian) seeds and leeches a torrent of 1 MiB pieces (mktorrent)
   through a local opentracker (Debian's package, unpacked into bench/.work with
   \`--install-tracker\`), PEX on, DHT and LPD off, leechers seeding until all
   are done (all done: every copy complete). Seeder upload: Shoal's \`status\`,
   aria2's RPC \`uploadLength\`. CPU: user + system time from
   \`/proc/<pid>/stat\` of every daemon (every aria2c) over the swarm phase,
   per GiB delivered (${LEECHERS} copies); baseline, the seeder and fetcher of a
   single transfer by id of the same file in the same run, per GiB.`
}
