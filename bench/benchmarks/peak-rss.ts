/**
 * 7. Peak resident set (VmHWM) of the seeder and the fetcher daemon across a
 * large transfer, against the same daemon idle after start.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { writeRandomFile } from '../../examples/support/files.js'
import { fetchTimed, share, startDaemon, stopDaemons, verifyFile } from '../lib/daemons.js'
import type { Fetched } from '../lib/daemons.js'
import { GiB, MiB, fmtMiB, fmtRate, fmtSec, fmtSize, progress, worst } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { peakRss } from '../lib/sampling.js'
import { benchDir, checkInterrupted, work } from '../lib/workspace.js'

/** Free space (on the temp dir's filesystem) below which the RSS bench is skipped. */
const RSS_MIN_FREE = 10 * GiB
const RSS_TARGET = 300 * MiB

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.rssSize
  const need = Math.max(RSS_MIN_FREE, 2 * size + GiB)
  const st = await fs.statfs(work())
  const free = st.bavail * st.bsize
  if (free < need) {
    const reason = `skipped: ${(free / GiB).toFixed(1)} GiB free on the temp dir's filesystem, need ${(need / GiB).toFixed(0)} GiB`
    progress(`  ${reason}`)
    for (const role of ['seeder', 'fetcher']) {
      results.row({ bench: '7', what: `peak RSS of the ${role} daemon, ${fmtSize(size)} transfer`, figure: reason, baseline: '-', ratio: '-', target: `<= ${fmtMiB(RSS_TARGET)}`, result: 'skipped', runs: '-' })
    }
    return
  }
  const dir = await benchDir('b7')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)} (${(free / GiB).toFixed(0)} GiB free)...`)
  const hash = await writeRandomFile(src, size)
  const runs: Array<{ seederIdle: number, fetcherIdle: number, seeder: number, fetcher: number, f: Fetched }> = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const seeder = await startDaemon(`b7-seeder${i}`)
    const fetcher = await startDaemon(`b7-fetcher${i}`)
    const seederIdle = await peakRss(seeder.pid)
    const fetcherIdle = await peakRss(fetcher.pid)
    const { result } = await share(seeder, src)
    const out = path.join(dir, `copy${i}.bin`)
    const f = await fetchTimed(fetcher, result.ticket, out, size)
    const seederPeak = await peakRss(seeder.pid)
    const fetcherPeak = await peakRss(fetcher.pid)
    runs.push({ seederIdle, fetcherIdle, seeder: seederPeak, fetcher: fetcherPeak, f })
    progress(`  run ${i + 1}: ${fmtSize(size)} in ${fmtSec(f.seconds)} (${fmtRate(size, f.seconds)}); VmHWM seeder ${fmtMiB(seederPeak)} (idle ${fmtMiB(seederIdle)}), fetcher ${fmtMiB(fetcherPeak)} (idle ${fmtMiB(fetcherIdle)})`)
    await stopDaemons()
    await verifyFile(out, hash)
    await fs.rm(out, { force: true })
  }
  for (const role of ['seeder', 'fetcher'] as const) {
    const peak = worst(runs.map(r => r[role]))
    const idle = worst(runs.map(r => role === 'seeder' ? r.seederIdle : r.fetcherIdle))
    results.row({
      bench: '7',
      what: `peak RSS (VmHWM) of the ${role} daemon, ${fmtSize(size)} transfer by ticket${role === 'seeder' ? ' (incl. share)' : ''}`,
      figure: fmtMiB(peak),
      baseline: `same daemon idle after start ${fmtMiB(idle)}`,
      ratio: (peak / idle).toFixed(2),
      target: `<= ${fmtMiB(RSS_TARGET)}`,
      result: judge(peak, '<=', RSS_TARGET),
      runs: 'worse'
    })
  }
  results.detail(`7. ${fmtSize(size)}: ` + runs.map((r, i) => `run ${i + 1}: seeder ${fmtMiB(r.seeder)} (idle ${fmtMiB(r.seederIdle)}), fetcher ${fmtMiB(r.fetcher)} (idle ${fmtMiB(r.fetcherIdle)}), transfer ${fmtSec(r.f.seconds)} daemon (${fmtRate(size, r.f.seconds)})`).join('; '))
  await fs.rm(dir, { recursive: true, force: true })
}

export const peakRssBench: Benchmark = {
  n: 7,
  name: 'peak RSS',
  run,
  method: () => `\`VmHWM\` from \`/proc/<pid>/status\` of the daemon processes (spawned directly,
   \`node <cli> daemon\`) right after start (baseline) and after the transfer
   (the peak over the daemon's life, so the seeder's includes hashing the share).
   Skipped with a reason when the temp filesystem has < 10 GiB free.`
}
