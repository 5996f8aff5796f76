/**
 * Shoal benchmarks: real daemons and the real CLI (separate processes) on
 * 127.0.0.1, each figure next to a baseline measured in the same run.
 *
 *   npm run bench               full sizes (several minutes)
 *   npm run bench -- --quick    smaller sizes
 *   npm run bench -- --only 1,7 a subset (1 fetch vs raw, 2 share vs sha256,
 *                               3 multi-source, 4 swarm, 5 small files,
 *                               6 time to first byte + DHT, 7 peak RSS,
 *                               8 idle CPU with mDNS, 9 gateway first
 *                               bytes of content not held, 10 cat vs fetch,
 *                               11 fetch --only one file, 12 gateway serving
 *                               held content vs cat, 13 IPFS: Shoal vs Helia
 *                               from a Helia provider, 14 IPFS: three Helia
 *                               providers against one, 15 fetch with the web
 *                               UI open in a browser vs without,
 *                               16 tiny files, 17 swarm 1 + 4 against
 *                               aria2)
 *   npm run bench -- --keep     keep the temp dir (repos, daemon logs)
 *
 * Prints one table on stdout, progress on stderr, and writes bench/RESULTS.md
 * (table, command, date, machine, every run's values). Every measured
 * transfer runs twice (RUNS); each row says whether it shows the better or
 * the worse of the two. Daemons are spawned as `node <cli> daemon` (so the
 * child pid is the daemon) and killed on exit, error and Ctrl-C.
 *
 * This file is the driver; each benchmark is a module in bench/benchmarks/,
 * what they share is in bench/lib/ and examples/support/.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { CLI, ROOT, UsageError, killChildren } from '../examples/support/cli-process.js'
import { fetchVsRaw } from './benchmarks/fetch-vs-raw.js'
import { firstByteDht } from './benchmarks/first-byte-dht.js'
import { idleMdnsCpu } from './benchmarks/idle-mdns-cpu.js'
import { ipfsHelia } from './benchmarks/ipfs-helia.js'
import { ipfsMulti } from './benchmarks/ipfs-multi.js'
import { multiSource } from './benchmarks/multi-source.js'
import { peakRssBench } from './benchmarks/peak-rss.js'
import { shareVsSha256 } from './benchmarks/share-vs-sha256.js'
import { smallFiles } from './benchmarks/small-files.js'
import { swarm } from './benchmarks/swarm.js'
import { gatewayFirstBytes } from './benchmarks/gateway-first-bytes.js'
import { catVsFetch } from './benchmarks/cat-vs-fetch.js'
import { onlyOneFile } from './benchmarks/only-one-file.js'
import { gatewayHeldVsCat } from './benchmarks/gateway-held-vs-cat.js'
import { uiOpen } from './benchmarks/ui-open.js'
import { swarmVsAria2 } from './benchmarks/swarm-vs-aria2.js'
import { tinyFiles } from './benchmarks/tiny-files.js'
import { stopDaemons } from './lib/daemons.js'
import { errText, progress } from './lib/format.js'
import { parsePlan, usage } from './lib/plan.js'
import type { Benchmark, Plan } from './lib/plan.js'
import { Results, machine, writeResultsFile } from './lib/results.js'
import { interrupt, isInterrupted, openWorkDir, removeWorkDir, removeWorkDirSync, workDirPath } from './lib/workspace.js'

const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md')

/** Every benchmark, in the order they run; `--only` picks by number. */
const BENCHMARKS: Benchmark[] = [fetchVsRaw, shareVsSha256, multiSource, swarm, smallFiles, firstByteDht, peakRssBench, idleMdnsCpu, gatewayFirstBytes, catVsFetch, onlyOneFile, gatewayHeldVsCat, ipfsHelia, ipfsMulti, uiOpen, tinyFiles, swarmVsAria2]

let keepWork = false

async function cleanup (): Promise<void> {
  await stopDaemons().catch(() => {})
  killChildren()
  if (keepWork) {
    const dir = workDirPath()
    if (dir !== undefined) progress(`kept ${dir}`)
  } else {
    await removeWorkDir()
  }
}

function onSignal (signal: NodeJS.Signals): void {
  if (isInterrupted()) return
  interrupt()
  progress(`${signal}: killing every daemon and removing the temp dir...`)
  killChildren()
  void cleanup().finally(() => { process.exit(signal === 'SIGINT' ? 130 : 143) })
}

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('SIGHUP', onSignal)
// last resort (uncaught exception, process.exit): nothing may outlive us
process.on('exit', () => {
  killChildren()
  if (!keepWork) removeWorkDirSync()
})

async function main (): Promise<number> {
  const argv = process.argv.slice(2)
  let plan: Plan | 'help'
  try {
    plan = parsePlan(argv, BENCHMARKS.map(b => b.n))
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`bench: ${err.message}\n${usage(BENCHMARKS.map(b => b.n))}\n`)
    return 2
  }
  if (plan === 'help') {
    process.stdout.write(usage(BENCHMARKS.map(b => b.n)) + '\n')
    return 0
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run \`npm run build\` first`)
  keepWork = plan.keep
  const startedAt = new Date()
  const t0 = performance.now()
  const workDir = await openWorkDir()
  progress(`${plan.quick ? 'quick' : 'full'} run; temp dir ${workDir}; ${machine()}`)

  const results = new Results()
  let failures = 0
  for (const b of BENCHMARKS) {
    if (!plan.only.has(b.n)) continue
    if (isInterrupted()) break
    const started = performance.now()
    progress(`${b.n}. ${b.name}`)
    try {
      await b.run(plan, results)
      progress(`  (${b.name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`)
    } catch (err) {
      if (isInterrupted()) break
      failures++
      const message = errText(err)
      progress(`${b.n}. ${b.name} FAILED: ${message}`)
      results.row({ bench: String(b.n), what: b.name, figure: `failed: ${message.split('\n')[0] ?? ''}`, baseline: '-', ratio: '-', target: '-', result: 'failed', runs: '-' })
      results.note(`${b.n}. ${b.name} failed: ${message.replace(/\n\s*/g, ' / ')}`)
      if (keepWork) progress(`  daemon logs are in ${path.join(workDir, 'logs')}`)
    } finally {
      await stopDaemons().catch(() => {})
    }
  }
  if (isInterrupted()) return 130

  process.stdout.write(`\n${results.summary(failures)}\n`)
  await writeResultsFile(RESULTS_FILE, results, { plan, argv, startedAt, seconds: (performance.now() - t0) / 1000, benchmarks: BENCHMARKS })
  process.stdout.write(`written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}\n`)
  return failures > 0 ? 1 : 0
}

let code = 1
try {
  code = await main()
} catch (err) {
  if (!isInterrupted()) progress(`error: ${errText(err)}`)
} finally {
  await cleanup()
}
if (!isInterrupted()) process.exitCode = code
