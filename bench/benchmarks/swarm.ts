/**
 * 4. One seeder and many leechers fetching the same bare id at once: how
 * long until all are done, and how much the seeder had to upload.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { writeRandomFile } from '../../examples/support/files.js'
import { fetchFromOneSeeder, fetchTimed, share, startDaemon, status, stopDaemons, verifyFile } from '../lib/daemons.js'
import type { Fetched } from '../lib/daemons.js'
import { best, errText, fmtRate, fmtSec, fmtSize, progress, worst } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.swarmSize
  const n = plan.swarmLeechers
  const dir = await benchDir('b4')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const single: Fetched[] = []
  const swarmWall: number[] = []
  const upload: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const f = await fetchFromOneSeeder(`b4-solo${i}`, `b4-single${i}`, src, hash, path.join(dir, `single${i}.bin`), size)
    single.push(f)
    progress(`  run ${i + 1}: single transfer by id: ${fmtSec(f.wall)} wall, ${fmtSec(f.seconds)} daemon`)
    checkInterrupted()
    const seeder = await startDaemon(`b4-seeder${i}`)
    const { result } = await share(seeder, src)
    const leechers = await Promise.all(Array.from({ length: n }, async (_, k) => await startDaemon(`b4-leech${i}-${k}`, [seeder.dialAddr()])))
    progress(`  run ${i + 1}: 1 seeder + ${n} leechers ready; fetching at once...`)
    const started = performance.now()
    const outs = leechers.map((_, k) => path.join(dir, `swarm${i}-${k}.bin`))
    const fetches = await Promise.allSettled(leechers.map(async (l, k) => await fetchTimed(l, result.cid, outs[k] ?? '', size)))
    const wall = (performance.now() - started) / 1000
    const failed = fetches.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed.length > 0) throw new Error(`${failed.length} of ${n} swarm fetches failed; first: ${errText(failed[0]?.reason)}`)
    const up = (await status(seeder)).uploaded
    swarmWall.push(wall)
    upload.push(up / size)
    const each = fetches.map(r => r.status === 'fulfilled' ? fmtSec(r.value.wall) : '-')
    progress(`  run ${i + 1}: all ${n} done in ${fmtSec(wall)}; seeder uploaded ${(up / size).toFixed(2)}x the file`)
    results.detail(`4. run ${i + 1}: per-leecher wall s = ${each.join(', ')}`)
    for (const out of outs) {
      await verifyFile(out, hash)
      await fs.rm(out, { force: true })
    }
    await stopDaemons()
  }
  const singleWall = best(single.map(f => f.wall))
  const swarmBest = best(swarmWall)
  results.info({
    bench: '4',
    what: `swarm: 1 seeder + ${n} leechers by id, ${fmtSize(size)}: all done (wall)`,
    figure: `${fmtSec(swarmBest)} (${fmtRate(size * n, swarmBest)} delivered)`,
    baseline: `single transfer by id ${fmtSec(singleWall)} wall`,
    ratio: (swarmBest / singleWall).toFixed(2)
  })
  const upWorst = worst(upload)
  results.row({
    bench: '4',
    what: 'swarm: seeder uploaded (status "uploaded" / file size)',
    figure: `${upWorst.toFixed(2)}x`,
    baseline: `file size ${fmtSize(size)}`,
    ratio: upWorst.toFixed(2),
    target: '<= 1.5x',
    result: judge(upWorst, '<=', 1.5),
    runs: 'worse'
  })
  results.detail(`4. ${fmtSize(size)}: single wall s = ${single.map(f => fmtSec(f.wall)).join(', ')} (daemon ${single.map(f => fmtSec(f.seconds)).join(', ')}); swarm wall s = ${swarmWall.map(fmtSec).join(', ')}; seeder upload = ${upload.map(u => u.toFixed(2) + 'x').join(', ')}`)
  await fs.rm(dir, { recursive: true, force: true })
}

export const swarm: Benchmark = {
  n: 4,
  name: 'swarm',
  run,
  method: plan => `Fresh daemons each run. ${plan.swarmLeechers} leechers bootstrap to the seeder and all fetch the bare
   id at once; wall time until the last exits. Upload multiple: the seeder's
   \`status --json\` \`uploaded\` / file size. Baseline: one seeder, one leecher, bare id.`
}
