/** 10. `shoal cat` of a file not held, piped to sha256sum, against `shoal fetch` of it. */
import fs from 'node:fs/promises'
import path from 'node:path'
import { CLI } from '../../examples/support/cli-process.js'
import { writeRandomFile } from '../../examples/support/files.js'
import { sh, timedShell } from '../lib/access.js'
import { fetchTimed, share, startDaemon, stopDaemon, stopDaemons, verifyFile } from '../lib/daemons.js'
import { best, fmtRate, fmtSec, fmtSize, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b10')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const seeder = await startDaemon('b10-seeder')
  const { result } = await share(seeder, src)
  const cat: number[] = []
  const toNull: number[] = []
  const fetch: number[] = []
  const hashOnly: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const reader = await startDaemon(`b10-cat${i}`)
    const piped = await timedShell(`node ${sh(CLI)} cat ${sh(result.ticket)} --repo ${sh(reader.repo)} | sha256sum`)
    if (!piped.stdout.startsWith(hash)) throw new Error(`shoal cat | sha256sum gave ${piped.stdout.trim()}, expected ${hash}`)
    cat.push(piped.seconds)
    await stopDaemon(reader)
    // the pipeline's floor: sha256sum alone, the file in the page cache (coreutils does not use SHA-NI)
    hashOnly.push((await timedShell(`sha256sum ${sh(src)} > /dev/null`)).seconds)
    const quiet = await startDaemon(`b10-null${i}`)
    toNull.push((await timedShell(`node ${sh(CLI)} cat ${sh(result.ticket)} --repo ${sh(quiet.repo)} > /dev/null`)).seconds)
    await stopDaemon(quiet)
    const fetcher = await startDaemon(`b10-fetch${i}`)
    const out = path.join(dir, `copy${i}.bin`)
    const f = await fetchTimed(fetcher, result.ticket, out, size)
    await verifyFile(out, hash)
    await fs.rm(out, { force: true })
    fetch.push(f.wall)
    await stopDaemon(fetcher)
    progress(`  run ${i + 1}: cat | sha256sum ${fmtSec(piped.seconds)} (${fmtRate(size, piped.seconds)}); cat > /dev/null ${fmtSec(toNull[i] ?? NaN)}; sha256sum alone ${fmtSec(hashOnly[i] ?? NaN)}; fetch ${fmtSec(f.wall)} (${fmtRate(size, f.wall)})`)
  }
  const c = best(cat)
  const f = best(fetch)
  results.row({ bench: '10', what: `shoal cat of a ${fmtSize(size)} file not held, piped to sha256sum (CLI wall)`, figure: `${fmtSec(c)} (${fmtRate(size, c)})`, baseline: `shoal fetch of it ${fmtSec(f)} (${fmtRate(size, f)})`, ratio: (c / f).toFixed(2), target: '<= 1.3 (time)', result: judge(c / f, '<=', 1.3), runs: 'better' })
  const n = best(toNull)
  results.info({ bench: '10', what: 'same cat to /dev/null (no sha256sum)', figure: `${fmtSec(n)} (${fmtRate(size, n)})`, baseline: `shoal fetch ${fmtSec(f)}`, ratio: (n / f).toFixed(2) })
  const h = best(hashOnly)
  results.info({ bench: '10', what: 'sha256sum alone of the same bytes (page cache): the pipe\'s floor', figure: `${fmtSec(h)} (${fmtRate(size, h)})`, baseline: `shoal fetch ${fmtSec(f)}`, ratio: (h / f).toFixed(2) })
  results.detail(`10. ${fmtSize(size)}: cat | sha256sum s = ${cat.map(fmtSec).join(', ')}; cat > /dev/null s = ${toNull.map(fmtSec).join(', ')}; sha256sum alone s = ${hashOnly.map(fmtSec).join(', ')}; fetch s = ${fetch.map(fmtSec).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

export const catVsFetch: Benchmark = {
  n: 10,
  name: 'cat of content not held vs fetch',
  run,
  method: () => `Fresh daemons each run, by ticket from one seeder. Figure: \`shoal cat <ticket> |
   sha256sum\` in bash (spawn to exit, the digest checked); baseline: \`shoal fetch
   <ticket> -o FILE\` (CLI wall, the copy's SHA-256 checked afterwards).`
}
