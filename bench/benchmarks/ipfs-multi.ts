/**
 * 14. Shoal fetching a UnixFS file from three stock Helia providers at once
 * against from one: the rate, and how many blocks it received per block of
 * the file (Bitswap providers announce nothing, so a client that asks every
 * provider for every block receives each block three times).
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { writeRandomFile } from '../../examples/support/files.js'
import { startDaemon, status, stopDaemons, verifyFile } from '../lib/daemons.js'
import { best, fmtRate, fmtSec, fmtSize, mbps, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'
import { fetchWithPeer, heliaProvider, stopChild } from './ipfs-helia.js'

const PROVIDERS = 3

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.multiSize
  const dir = await benchDir('b10')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const one: number[] = []
  const many: number[] = []
  const received: number[] = []
  const blocksOfFile = Math.ceil(size / (1024 * 1024)) + Math.ceil(size / (1024 * 1024 * 1024))
  progress(`  ${PROVIDERS} Helia processes add ${fmtSize(size)} each...`)
  const providers = await Promise.all(Array.from({ length: PROVIDERS }, async (_, k) => await heliaProvider(`b10-helia${k}`, src, size)))
  try {
    const cid = providers[0]?.cid ?? ''
    if (providers.some(p => p.cid !== cid)) throw new Error('the Helia providers got different CIDs for the same file')
    for (let i = 0; i < RUNS; i++) {
      for (const [label, n] of [['1', 1], [String(PROVIDERS), PROVIDERS]] as const) {
        checkInterrupted()
        const fetcher = await startDaemon(`b10-shoal${i}-${label}`)
        const out = path.join(dir, `out${i}-${label}.bin`)
        // the hints: one provider, or all of them
        const addrs = providers.slice(0, n).map(p => p.addr)
        const { seconds } = await fetchWithPeer(fetcher.repo, cid, addrs, out, size)
        await verifyFile(out, hash)
        await fs.rm(out, { force: true })
        const bitswap = (await status(fetcher)).bitswap
        await stopDaemons()
        const per = (bitswap?.blocksReceived ?? 0) / blocksOfFile
        progress(`  run ${i + 1}: ${label} Helia provider(s) -> Shoal: ${fmtSec(seconds)} (${fmtRate(size, seconds)}), ${bitswap?.blocksReceived ?? 0} blocks received for ${blocksOfFile} (${per.toFixed(2)}x), ${bitswap?.duplicateBlocks ?? 0} duplicates`)
        if (n === 1) one.push(seconds)
        else { many.push(seconds); received.push(per) }
      }
    }
  } finally {
    await Promise.all(providers.map(async p => { await stopChild(p.child) }))
  }
  const oneRate = mbps(size, best(one))
  const manyRate = mbps(size, best(many))
  results.row({ bench: '14', what: `Shoal fetching ${fmtSize(size)} from ${PROVIDERS} Helia providers at once`, figure: `${manyRate.toFixed(0)} MB/s`, baseline: `1 Helia provider ${oneRate.toFixed(0)} MB/s`, ratio: (manyRate / oneRate).toFixed(2), target: '>= 1.0', result: judge(manyRate / oneRate, '>=', 1.0), runs: 'better' })
  const worstDup = Math.max(...received)
  results.row({ bench: '14', what: `same fetch: blocks received per block of the file (${PROVIDERS} providers)`, figure: `${worstDup.toFixed(2)}x`, baseline: `${blocksOfFile} blocks`, ratio: worstDup.toFixed(2), target: '<= 1.1', result: judge(worstDup, '<=', 1.1), runs: 'worse' })
  results.detail(`14. ${fmtSize(size)}: 1 provider ${one.map(fmtSec).join(', ')}; ${PROVIDERS} providers ${many.map(fmtSec).join(', ')}; blocks received per block ${received.map(r => r.toFixed(3)).join(', ')}`)
}

export const ipfsMulti: Benchmark = {
  n: 14,
  name: 'IPFS: Shoal fetching from three Helia providers at once',
  method: (plan) => `Three \`bench/helia-peer.ts\` processes each add the same ${fmtSize(plan.multiSize)} file; a fresh
   Shoal daemon fetches its CID given one of them (\`--peer\`), then a fresh one given all three.
   Figures: daemon "seconds"; and from \`status --json\` \`bitswap.blocksReceived\` over the file's blocks
   (leaves and inner nodes), the worse of the runs.`,
  run
}
