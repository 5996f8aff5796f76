/**
 * 9. Time to the first 64 KiB from the middle of a file the node does not
 * hold, through the gateway, against fetching 1 KiB from a connected peer;
 * and how much of the file the node had fetched at that moment.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { writeRandomFile } from '../../examples/support/files.js'
import { filesOf, gatewayOf, socketFetchMs, timedGet } from '../lib/access.js'
import { cliJsonTimed, share, startDaemon, stopDaemon, stopDaemons } from '../lib/daemons.js'
import { KiB, MiB, best, fmtSize, pct, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b9')
  const src = path.join(dir, 'video.bin')
  progress(`  writing ${fmtSize(size)}...`)
  await writeRandomFile(src, size)
  const tiny = path.join(dir, 'tiny.bin')
  await writeRandomFile(tiny, KiB)
  const seeder = await startDaemon('b9-seeder')
  const { result: big } = await share(seeder, src)
  const { result: small } = await share(seeder, tiny)
  const middle = Math.floor(size / 2)
  const expected = (await fs.readFile(src)).subarray(middle, middle + 64 * KiB)
  const first: number[] = []
  const baseline: number[] = []
  const heldAt: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const node = await startDaemon(`b9-node${i}`, [], { args: ['--gateway', '127.0.0.1:0'] })
    await cliJsonTimed(['connect', seeder.dialAddr(), '--repo', node.repo])
    const gateway = await gatewayOf(node)
    baseline.push(await socketFetchMs(node, small.ticket, path.join(dir, `tiny${i}.bin`)))
    const got = await timedGet(`${gateway}/shoal/${big.cid}`, { range: `bytes=${middle}-${middle + 64 * KiB - 1}` })
    const held = (await filesOf(node, big.cid)).held
    if (got.status !== 206 || Buffer.compare(got.body, expected) !== 0) throw new Error(`the gateway answered ${got.status} with ${got.body.length} bytes that are not the file's`)
    first.push(got.ms)
    heldAt.push(held)
    progress(`  run ${i + 1}: first 64 KiB of the middle ${got.ms.toFixed(1)} ms (node held ${fmtSize(held)} then); 1 KiB fetch from a connected peer ${baseline[i]?.toFixed(1) ?? '?'} ms`)
    await stopDaemon(node)
  }
  const f = best(first)
  const b = best(baseline)
  results.row({ bench: '9', what: `gateway: first 64 KiB from the middle of a ${fmtSize(size)} file not held (Range request, time to its last byte)`, figure: `${f.toFixed(1)} ms`, baseline: `fetch 1 KiB from a connected peer (control socket, to done) ${b.toFixed(1)} ms`, ratio: (f / b).toFixed(2), target: '<= 2x', result: judge(f / b, '<=', 2), runs: 'better' })
  const worstHeld = Math.max(...heldAt)
  results.row({ bench: '9', what: 'held by the node when those 64 KiB had arrived', figure: `${(worstHeld / MiB).toFixed(0)} MiB`, baseline: `file ${fmtSize(size)}`, ratio: pct(worstHeld / size), target: '<= 5%', result: judge(worstHeld / size, '<=', 0.05), runs: 'worse' })
  results.detail(`9. ${fmtSize(size)}: first 64 KiB ms = ${first.map(x => x.toFixed(1)).join(', ')}; 1 KiB fetch ms = ${baseline.map(x => x.toFixed(1)).join(', ')}; held then MiB = ${heldAt.map(x => (x / MiB).toFixed(1)).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

export const gatewayFirstBytes: Benchmark = {
  n: 9,
  name: 'gateway: first bytes of content not held',
  run,
  method: plan => `A fresh daemon with \`--gateway 127.0.0.1:0\`, connected to the seeder with
   \`shoal connect\`. Baseline: a 1 KiB file fetched by ticket over its control
   socket from the bench process (request to the \`done\` event: manifest,
   chunk, rename). Figure: \`GET /shoal/<cid>\` with \`Range: bytes=${plan.fetchSize / 2}-${plan.fetchSize / 2 + 65535}\`
   of a ${plan.fetchSize / (1 << 20)} MiB file the node does not hold, from the bench process (request to
   the last byte, checked against the file); then \`GET /v1/files/<cid>\` says how
   much the node held at that moment (the read-ahead is still running).`
}
