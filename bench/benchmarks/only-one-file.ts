/** 11. `fetch --only` one file out of a big share: what it downloads. */
import fs from 'node:fs/promises'
import path from 'node:path'
import { cliJsonTimed, fetchTimed, share, startDaemon, status, stopDaemon, stopDaemons, verifyFile } from '../lib/daemons.js'
import { writeRandomFile } from '../../examples/support/files.js'
import { MiB, fmtSize, progress, worst } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

async function run (plan: Plan, results: Results): Promise<void> {
  const dir = await benchDir('b11')
  const tree = path.join(dir, 'share')
  await fs.mkdir(path.join(tree, 'other'), { recursive: true })
  const pick = plan.onlyFileSize
  const others = Math.max(1, Math.round((plan.onlyShareSize - pick) / (100 * MiB)))
  progress(`  writing ${fmtSize(plan.onlyShareSize)} in ${others + 1} files...`)
  const hash = await writeRandomFile(path.join(tree, 'the-one.bin'), pick)
  for (let k = 0; k < others; k++) await writeRandomFile(path.join(tree, 'other', `f${k}.bin`), Math.floor((plan.onlyShareSize - pick) / others), k + 1)
  const seeder = await startDaemon('b11-seeder')
  const { result } = await share(seeder, tree)
  const downloaded: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const fetcher = await startDaemon(`b11-fetcher${i}`)
    await cliJsonTimed(['connect', seeder.dialAddr(), '--repo', fetcher.repo])
    const into = path.join(dir, `out${i}`) + '/'
    const r = (await fetchTimed(fetcher, result.ticket, into, pick, ['--only', 'the-one.bin'])).seconds
    await verifyFile(path.join(into, 'share', 'the-one.bin'), hash)
    const got = (await status(fetcher)).downloaded
    downloaded.push(got)
    progress(`  run ${i + 1}: --only the-one.bin downloaded ${fmtSize(got)} in ${r.toFixed(2)} s`)
    await stopDaemon(fetcher)
    await fs.rm(into, { recursive: true, force: true })
  }
  const w = worst(downloaded)
  results.row({ bench: '11', what: `fetch --only one ${fmtSize(pick)} file out of a ${fmtSize(plan.onlyShareSize)} share: bytes downloaded`, figure: `${(w / MiB).toFixed(1)} MiB`, baseline: `the file ${fmtSize(pick)}`, ratio: (w / pick).toFixed(3), target: '<= 1.10', result: judge(w / pick, '<=', 1.1), runs: 'worse' })
  results.detail(`11. ${fmtSize(plan.onlyShareSize)} share, ${fmtSize(pick)} picked: downloaded = ${downloaded.map(fmtSize).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

export const onlyOneFile: Benchmark = {
  n: 11,
  name: 'fetch --only one file of a big share',
  run,
  method: plan => `A share of ${plan.onlyShareSize / (1 << 20)} MiB: one ${plan.onlyFileSize / (1 << 20)} MiB file and ${plan.onlyShareSize / (1 << 20) - plan.onlyFileSize / (1 << 20)} MiB in
   other files of about 100 MiB. A fresh daemon connected to the seeder runs
   \`shoal fetch <ticket> --only the-one.bin -o DIR/\`; figure: its \`status\`
   "downloaded" afterwards (verified chunk payload received), the file's
   SHA-256 checked.`
}
