/**
 * 6. Time to first byte: a 1 KiB fetch between connected daemons against the
 * CLI's own floor, and the same fetch by bare id at the end of a chain of
 * daemons, where the provider is found through the DHT.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { writeRandomFile } from '../../examples/support/files.js'
import { cliJsonTimed, fetchTimed, runCli, share, startDaemon, status, stopDaemons, verifyFile } from '../lib/daemons.js'
import type { DaemonProcess, Fetched } from '../lib/daemons.js'
import { KiB, best, fmtSec, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

async function run (plan: Plan, results: Results): Promise<void> {
  const dir = await benchDir('b6')
  const floor: number[] = []
  const connected: Fetched[] = []
  const lookup: Fetched[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    progress(`  run ${i + 1}: 1 KiB, fetcher already connected...`)
    const seeder = await startDaemon(`b6-seeder${i}`)
    const fetcher = await startDaemon(`b6-fetcher${i}`)
    await cliJsonTimed(['connect', seeder.dialAddr(), '--repo', fetcher.repo])
    const file = path.join(dir, `tiny${i}.bin`)
    const hash = await writeRandomFile(file, KiB)
    const { result } = await share(seeder, file)
    floor.push((await runCli(['status', '--repo', fetcher.repo, '--json'])).seconds)
    const out = path.join(dir, `tiny${i}-copy.bin`)
    const f = await fetchTimed(fetcher, result.ticket, out, KiB)
    connected.push(f)
    await verifyFile(out, hash)
    progress(`  run ${i + 1}: fetch ${fmtSec(f.wall)} wall, ${fmtSec(f.seconds)} daemon; CLI floor (status) ${fmtSec(floor[i] ?? 0)}`)
    await stopDaemons()

    checkInterrupted()
    progress(`  run ${i + 1}: starting a chain of ${plan.chainLength} daemons (each bootstraps to the previous)...`)
    const chain: DaemonProcess[] = []
    for (let k = 0; k < plan.chainLength; k++) {
      const prev = chain[k - 1]
      chain.push(await startDaemon(`b6-chain${i}-${k}`, prev === undefined ? [] : [prev.dialAddr()]))
    }
    const first = chain[0]
    const last = chain[chain.length - 1]
    if (first === undefined || last === undefined) throw new Error('empty chain')
    const file2 = path.join(dir, `tiny${i}-dht.bin`)
    const hash2 = await writeRandomFile(file2, KiB)
    const shared = await share(first, file2)
    const out2 = path.join(dir, `tiny${i}-dht-copy.bin`)
    const g = await fetchTimed(last, shared.result.cid, out2, KiB)
    lookup.push(g)
    await verifyFile(out2, hash2)
    const dhtPeers = (await status(last)).dhtPeers
    progress(`  run ${i + 1}: fetch by bare id on the last: ${fmtSec(g.wall)} wall, ${fmtSec(g.seconds)} daemon (its DHT table: ${dhtPeers} peers)`)
    await stopDaemons()
  }
  const floorBest = best(floor)
  const wallBest = best(connected.map(f => f.wall))
  const daemonBest = best(connected.map(f => f.seconds))
  results.info({
    bench: '6',
    what: 'time to first byte: fetch 1 KiB by ticket, already connected (CLI wall)',
    figure: fmtSec(wallBest),
    baseline: `CLI floor (shoal status) ${fmtSec(floorBest)}`,
    ratio: (wallBest / floorBest).toFixed(2)
  })
  results.info({
    bench: '6',
    what: 'same fetch, daemon "seconds"',
    figure: fmtSec(daemonBest),
    baseline: `CLI wall ${fmtSec(wallBest)}`,
    ratio: (daemonBest / wallBest).toFixed(2)
  })
  const lookupDaemon = best(lookup.map(f => f.seconds))
  const lookupWall = best(lookup.map(f => f.wall))
  results.info({
    bench: '6',
    what: `DHT: ${plan.chainLength}-daemon chain, fetch 1 KiB by bare id on the last (daemon "seconds")`,
    figure: fmtSec(lookupDaemon),
    baseline: `connected fetch ${fmtSec(daemonBest)} daemon`,
    ratio: (lookupDaemon / daemonBest).toFixed(2)
  })
  results.info({
    bench: '6',
    what: 'DHT: same fetch, CLI wall (includes the provider lookup)',
    figure: fmtSec(lookupWall),
    baseline: `connected fetch ${fmtSec(wallBest)} wall`,
    ratio: (lookupWall / wallBest).toFixed(2)
  })
  results.detail(`6. connected: wall s = ${connected.map(f => fmtSec(f.wall)).join(', ')}, daemon s = ${connected.map(f => fmtSec(f.seconds)).join(', ')}, CLI floor s = ${floor.map(fmtSec).join(', ')}; DHT chain: wall s = ${lookup.map(f => fmtSec(f.wall)).join(', ')}, daemon s = ${lookup.map(f => fmtSec(f.seconds)).join(', ')}`)
  await fs.rm(dir, { recursive: true, force: true })
}

export const firstByteDht: Benchmark = {
  n: 6,
  name: 'time to first byte and DHT lookup',
  run,
  method: plan => `Fetcher connected with \`shoal connect\` before the 1 KiB file is shared; fetch
   by ticket. CLI floor: \`shoal status --json\` wall on the same daemon. DHT: ${plan.chainLength}
   daemons started in a chain (each \`--bootstrap\` to the previous), share on
   the first, \`fetch <bare id>\` on the last. The daemon's "seconds" starts once
   the manifest is fetched, so the provider lookup shows only in the wall time.`
}
