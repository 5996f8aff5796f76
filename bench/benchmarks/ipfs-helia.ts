/**
 * 13. Shoal fetching a UnixFS file from a stock Helia provider, against Helia
 * fetching the same CID from the same provider, and against Shoal's own
 * protocol (one Shoal seeder) — three fetches of one file in one run.
 */
import path from 'node:path'
import { ROOT, isRunning, within } from '../../examples/support/cli-process.js'
import { EventProcess, READY_TIMEOUT_MS } from '../../examples/support/daemon-process.js'
import { writeRandomFile } from '../../examples/support/files.js'
import { fetchFromOneSeeder, runCli, startDaemon, status, stopDaemons, uniqueName, verifyFile } from '../lib/daemons.js'
import { best, fmtRate, fmtSec, fmtSize, mbps, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

const HELIA_PEER = path.join(ROOT, 'bench', 'helia-peer.ts')

/** bench/helia-peer.ts with node --import tsx, so the pid is Helia's. */
export function heliaPeer (name: string, args: string[]): EventProcess {
  const { id, logFile } = uniqueName(name)
  return new EventProcess(process.execPath, ['--import', 'tsx', HELIA_PEER, ...args], { name: id, logFile, cwd: ROOT })
}

/** A Helia provider of `file`: its CID and addresses, once added. */
export async function heliaProvider (name: string, file: string, size: number): Promise<{ child: EventProcess, cid: string, addr: string, addSeconds: number }> {
  const child = heliaPeer(name, ['provide', file])
  const ready = await child.waitForEvent(e => e.event === 'ready', { what: 'Helia ready', timeoutMs: READY_TIMEOUT_MS + size / 2e6 * 1000 })
  return { child, cid: String(ready.cid), addr: String((ready.addrs as string[])[0]), addSeconds: Number(ready.addSeconds) }
}

export async function stopChild (child: EventProcess): Promise<void> {
  if (isRunning(child.proc)) child.proc.kill('SIGTERM')
  await within(child.exited, 10_000)
  if (isRunning(child.proc)) child.proc.kill('SIGKILL')
}

async function heliaFetch (cid: string, addrs: string[], size: number, hash: string): Promise<number> {
  const child = heliaPeer('helia-fetcher', ['fetch', cid, ...addrs])
  try {
    const done = await child.waitForEvent(e => e.event === 'done', { what: 'Helia fetch', timeoutMs: 60_000 + size / 2e6 * 1000 })
    if (done.sha256 !== hash) throw new Error(`Helia fetched ${String(done.bytes)} bytes with the wrong SHA-256`)
    return Number(done.seconds)
  } finally {
    await stopChild(child)
  }
}

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b9')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const viaShoal: number[] = []
  const viaHelia: number[] = []
  const native: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const provider = await heliaProvider(`b9-helia${i}`, src, size)
    progress(`  run ${i + 1}: Helia added it in ${fmtSec(provider.addSeconds)}: ${provider.cid}`)
    try {
      const fetcher = await startDaemon(`b9-shoal${i}`)
      const out = path.join(dir, `shoal${i}.bin`)
      const r = await fetchWithPeer(fetcher.repo, provider.cid, [provider.addr], out, size)
      viaShoal.push(r.seconds)
      await verifyFile(out, hash)
      const bitswap = (await status(fetcher)).bitswap
      progress(`  run ${i + 1}: Shoal <- Helia: ${fmtSec(r.seconds)} (${fmtRate(size, r.seconds)}), ${bitswap?.blocksReceived ?? 0} blocks received, ${bitswap?.duplicateBlocks ?? 0} duplicates`)
      await stopDaemons()
      checkInterrupted()
      const h = await heliaFetch(provider.cid, [provider.addr], size, hash)
      viaHelia.push(h)
      progress(`  run ${i + 1}: Helia <- Helia: ${fmtSec(h)} (${fmtRate(size, h)})`)
    } finally {
      await stopChild(provider.child)
    }
    checkInterrupted()
    const s = await fetchFromOneSeeder(`b9-seed${i}`, `b9-fetch${i}`, src, hash, path.join(dir, `native${i}.bin`), size)
    native.push(s.seconds)
    progress(`  run ${i + 1}: Shoal <- Shoal (own protocol): ${fmtSec(s.seconds)} (${fmtRate(size, s.seconds)})`)
  }
  const shoalRate = mbps(size, best(viaShoal))
  const heliaRate = mbps(size, best(viaHelia))
  const nativeRate = mbps(size, best(native))
  results.row({ bench: '13', what: `Shoal fetching a ${fmtSize(size)} UnixFS file from a stock Helia provider`, figure: `${shoalRate.toFixed(0)} MB/s`, baseline: `Helia <- Helia ${heliaRate.toFixed(0)} MB/s`, ratio: (shoalRate / heliaRate).toFixed(2), target: '>= 1.0', result: judge(shoalRate / heliaRate, '>=', 1.0), runs: 'better' })
  results.row({ bench: '13', what: 'same fetch against Shoal\'s own protocol (1 Shoal seeder)', figure: `${shoalRate.toFixed(0)} MB/s`, baseline: `Shoal <- Shoal ${nativeRate.toFixed(0)} MB/s`, ratio: (shoalRate / nativeRate).toFixed(2), target: '>= 0.5', result: judge(shoalRate / nativeRate, '>=', 0.5), runs: 'better' })
  results.detail(`13. ${fmtSize(size)}: Shoal <- Helia ${viaShoal.map(fmtSec).join(', ')}; Helia <- Helia ${viaHelia.map(fmtSec).join(', ')}; Shoal <- Shoal ${native.map(fmtSec).join(', ')}`)
}

/** `shoal fetch CID --peer ADDR... -o OUT --json`, timed by the daemon's done event. */
export async function fetchWithPeer (repo: string, cid: string, addrs: string[], out: string, size: number): Promise<{ seconds: number }> {
  const r = await runCli(['fetch', cid, ...addrs.flatMap(a => ['--peer', a]), '--repo', repo, '-o', out, '--json'], 60_000 + size / 5e6 * 1000)
  const done = r.stdout.trim().split('\n').map(l => { try { return JSON.parse(l) as { type?: string, seconds?: number } } catch { return {} } }).find(e => e.type === 'done')
  if (r.code !== 0 || done?.seconds === undefined) throw new Error(`shoal fetch ${cid} --peer ${addrs.join(' ')} failed (exit ${String(r.code)}): ${r.stderr.trim()}`)
  return { seconds: done.seconds }
}

export const ipfsHelia: Benchmark = {
  n: 13,
  name: 'IPFS: Shoal fetching from a stock Helia provider',
  method: (plan) => `One \`bench/helia-peer.ts\` process (helia 7, @helia/unixfs defaults, in-memory
   stores) adds a ${fmtSize(plan.fetchSize)} file; a fresh Shoal daemon fetches its CID with \`--peer\`
   (daemon "seconds"), then a second Helia process fetches the same CID from the same provider
   (its own clock, from the first \`cat\` call to the last byte). The third figure is Shoal's own
   protocol, one Shoal seeder to one fetcher by content id, same file, same run. Copies are checked.`,
  run
}
