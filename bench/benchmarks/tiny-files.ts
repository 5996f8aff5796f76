/**
 * 16. Directories of empty and tiny files (half empty, half 1 to 97 bytes, in
 * 100 folders), at two counts ten times apart: time per file must not grow
 * with the count, and neither daemon may need much memory.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { sameTree, treeDigest } from '../../examples/support/files.js'
import { fetchTimed, share, startDaemon, stopDaemons } from '../lib/daemons.js'
import type { Fetched } from '../lib/daemons.js'
import { MiB, best, fmtMiB, fmtSec, progress, worst } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { peakRss } from '../lib/sampling.js'
import { writeTree } from '../lib/trees.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

/** Peak RSS (VmHWM) of each daemon. */
const RSS_TARGET = 300 * MiB
/** Time per file at the larger count over time per file at the smaller: linear within this. */
const LINEAR_TARGET = 1.5

const sizeOf = (k: number): number => k % 2 === 0 ? 0 : 1 + k % 97

interface Run {
  share: number
  fetch: Fetched
  seeder: number
  fetcher: number
}

async function measure (dir: string, count: number): Promise<Run[]> {
  const tree = path.join(dir, `tree-${count}`)
  progress(`  writing ${count} empty and tiny files in 100 folders...`)
  await writeTree(tree, count, sizeOf)
  const expected = await treeDigest(tree)
  const runs: Run[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const seeder = await startDaemon(`b9-seeder-${count}-${i}`)
    const fetcher = await startDaemon(`b9-fetcher-${count}-${i}`)
    const shared = await share(seeder, tree)
    if (shared.result.files !== count) throw new Error(`share reported ${shared.result.files} files, expected ${count}`)
    // (outputs stay until the end, as in benchmark 5)
    const out = path.join(dir, `out-${count}-${i}`)
    const fetch = await fetchTimed(fetcher, shared.result.ticket, out, count * 2500) // (a generous timeout: 60 s + 1 s per 2,000 files)
    const run = { share: shared.seconds, fetch, seeder: await peakRss(seeder.pid), fetcher: await peakRss(fetcher.pid) }
    runs.push(run)
    progress(`  ${count} files, run ${i + 1}: share ${fmtSec(run.share)}, fetch ${fmtSec(fetch.wall)} wall / ${fmtSec(fetch.seconds)} daemon; peak RSS seeder ${fmtMiB(run.seeder)}, fetcher ${fmtMiB(run.fetcher)}`)
    await stopDaemons()
    if (!sameTree(await treeDigest(out), expected)) throw new Error(`${out} does not match the shared tree`)
  }
  return runs
}

async function run (plan: Plan, results: Results): Promise<void> {
  const dir = await benchDir('b9')
  const [small, large] = plan.tinyFileCounts as [number, number]
  const a = await measure(dir, small)
  const b = await measure(dir, large)
  const perFile = (runs: Run[], pick: (r: Run) => number, count: number): number => best(runs.map(pick)) / count
  for (const [what, pick] of [['share', (r: Run) => r.share], ['fetch by ticket', (r: Run) => r.fetch.wall]] as const) {
    const ratio = perFile(b, pick, large) / perFile(a, pick, small)
    results.row({
      bench: '16',
      what: `${what} ${large} empty and tiny files (CLI wall)`,
      figure: `${fmtSec(best(b.map(pick)))} (${(perFile(b, pick, large) * 1e6).toFixed(0)} µs per file)`,
      baseline: `${small} files ${fmtSec(best(a.map(pick)))} (${(perFile(a, pick, small) * 1e6).toFixed(0)} µs per file)`,
      ratio: ratio.toFixed(2),
      target: `<= ${LINEAR_TARGET} (per file)`,
      result: judge(ratio, '<=', LINEAR_TARGET),
      runs: 'better'
    })
  }
  for (const role of ['seeder', 'fetcher'] as const) {
    const peak = worst(b.map(r => r[role]))
    results.row({
      bench: '16',
      what: `peak RSS (VmHWM) of the ${role}, ${large} files${role === 'seeder' ? ' (incl. share)' : ''}`,
      figure: fmtMiB(peak),
      baseline: `${small} files ${fmtMiB(worst(a.map(r => r[role])))}`,
      ratio: (peak / worst(a.map(r => r[role]))).toFixed(2),
      target: `<= ${fmtMiB(RSS_TARGET)}`,
      result: judge(peak, '<=', RSS_TARGET),
      runs: 'worse'
    })
  }
  for (const [count, runs] of [[small, a], [large, b]] as const) {
    results.detail(`16. ${count} files: share s = ${runs.map(r => fmtSec(r.share)).join(', ')}; fetch wall s = ${runs.map(r => fmtSec(r.fetch.wall)).join(', ')} (daemon ${runs.map(r => fmtSec(r.fetch.seconds)).join(', ')}); peak RSS seeder/fetcher = ${runs.map(r => `${fmtMiB(r.seeder)}/${fmtMiB(r.fetcher)}`).join(', ')}`)
  }
  await fs.rm(dir, { recursive: true, force: true })
}

export const tinyFiles: Benchmark = {
  n: 16,
  name: 'many tiny files',
  run,
  method: plan => `${plan.tinyFileCounts.join(' and ')} files in 100 folders, half empty and half of 1 to 97
   random bytes, plus an empty folder; fresh daemons each run; share and fetch by
   ticket (CLI wall), each copy compared with the tree. Linear: time per file at
   the larger count / at the smaller. Peak RSS: \`VmHWM\` of each daemon after the fetch.`
}
