/**
 * 5. A directory of many small files: share it against reading and hashing
 * the files in this process; fetch it against one file of the same total size.
 */
import { createHash, randomFillSync } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { sameTree, treeDigest, writeRandomFile } from '../../examples/support/files.js'
import { fetchTimed, share, startDaemon, stopDaemons, verifyFile } from '../lib/daemons.js'
import type { Fetched } from '../lib/daemons.js'
import { best, fmtSec, fmtSize, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

async function run (plan: Plan, results: Results): Promise<void> {
  const count = plan.smallFiles
  const each = plan.smallFileSize
  const total = count * each
  const dir = await benchDir('b5')
  const tree = path.join(dir, 'small')
  progress(`  writing ${count} files of ${fmtSize(each)}...`)
  await fs.mkdir(tree)
  const block = Buffer.alloc(each)
  for (let k = 0; k < count; k++) {
    randomFillSync(block)
    await fs.writeFile(path.join(tree, `f${String(k).padStart(4, '0')}.bin`), block)
  }
  const single = path.join(dir, 'one.bin')
  const singleHash = await writeRandomFile(single, total)
  const expected = await treeDigest(tree) // also warms the page cache
  const shaTimes: number[] = []
  const shareTimes: number[] = []
  const dirFetch: Fetched[] = []
  const oneFetch: Fetched[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const started = performance.now()
    for (const name of await fs.readdir(tree)) createHash('sha256').update(await fs.readFile(path.join(tree, name))).digest()
    shaTimes.push((performance.now() - started) / 1000)
    const seeder = await startDaemon(`b5-seeder${i}`)
    const shared = await share(seeder, tree)
    if (shared.result.files !== count) throw new Error(`share reported ${shared.result.files} files, expected ${count}`)
    shareTimes.push(shared.seconds)
    const { result: oneShared } = await share(seeder, single)
    const fetcher = await startDaemon(`b5-fetcher${i}`)
    const outDir = path.join(dir, `out${i}`)
    const f = await fetchTimed(fetcher, shared.result.ticket, outDir, total)
    dirFetch.push(f)
    const outOne = path.join(dir, `one-copy${i}.bin`)
    const g = await fetchTimed(fetcher, oneShared.ticket, outOne, total)
    oneFetch.push(g)
    progress(`  run ${i + 1}: share ${fmtSec(shared.seconds)} (in-process read+hash ${fmtSec(shaTimes[i] ?? 0)}); fetch dir ${fmtSec(f.wall)} wall / ${fmtSec(f.seconds)} daemon; one ${fmtSize(total)} file ${fmtSec(g.wall)} wall / ${fmtSec(g.seconds)} daemon`)
    if (!sameTree(await treeDigest(outDir), expected)) throw new Error(`${outDir} does not match the shared tree`)
    await verifyFile(outOne, singleHash)
    await fs.rm(outDir, { recursive: true, force: true })
    await fs.rm(outOne, { force: true })
    await stopDaemons()
  }
  const shareBest = best(shareTimes)
  const shaBest = best(shaTimes)
  results.info({
    bench: '5',
    what: `share a directory of ${count} files x ${fmtSize(each)} (CLI wall)`,
    figure: fmtSec(shareBest),
    baseline: `read + SHA-256 of the files in process ${fmtSec(shaBest)}`,
    ratio: (shareBest / shaBest).toFixed(1)
  })
  const dirBest = best(dirFetch.map(f => f.wall))
  const oneBest = best(oneFetch.map(f => f.wall))
  results.info({
    bench: '5',
    what: `fetch that directory by ticket (CLI wall; daemon "seconds" ${fmtSec(best(dirFetch.map(f => f.seconds)))})`,
    figure: fmtSec(dirBest),
    baseline: `one ${fmtSize(total)} file by ticket ${fmtSec(oneBest)} wall`,
    ratio: (dirBest / oneBest).toFixed(1)
  })
  results.detail(`5. ${count} x ${fmtSize(each)}: in-process hash s = ${shaTimes.map(fmtSec).join(', ')}; share s = ${shareTimes.map(fmtSec).join(', ')}; dir fetch wall s = ${dirFetch.map(f => fmtSec(f.wall)).join(', ')} (daemon ${dirFetch.map(f => fmtSec(f.seconds)).join(', ')}); one-file fetch wall s = ${oneFetch.map(f => fmtSec(f.wall)).join(', ')} (daemon ${oneFetch.map(f => fmtSec(f.seconds)).join(', ')})`)
  await fs.rm(dir, { recursive: true, force: true })
}

export const smallFiles: Benchmark = {
  n: 5,
  name: 'many small files',
  run,
  method: plan => `${plan.smallFiles} random files of ${fmtSize(plan.smallFileSize)} in one directory; share (CLI wall) vs
   reading and hashing them in the bench process; fetch by ticket vs a single
   file of the same total size by ticket between the same two daemons.`
}
