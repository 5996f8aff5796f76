/**
 * 15. The web UI costs a transfer nothing measurable: the same fetch by
 * ticket from one seeder into a fresh fetcher daemon (with `--gateway`),
 * with a headless Chromium open on the fetcher's transfers page (its event
 * stream and chunk map live), against without, in the same run,
 * alternating which goes first.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Page } from 'puppeteer-core'
import { cliJson } from '../../examples/support/cli-process.js'
import { chromiumPath, launchBrowser } from '../../examples/support/browser.js'
import type { UiBrowser } from '../../examples/support/browser.js'
import { writeRandomFile } from '../../examples/support/files.js'
import { fetchTimed, share, startDaemon, stopDaemon, stopDaemons, verifyFile } from '../lib/daemons.js'
import type { Fetched } from '../lib/daemons.js'
import { GiB, fmtRate, fmtSec, fmtSize, mbps, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { busyCores, cpuSeconds, machineCpu } from '../lib/sampling.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

type Variant = 'without' | 'with'

interface Measured extends Fetched { fetcherCpu: number, cores: number }

async function run (plan: Plan, results: Results): Promise<void> {
  if (chromiumPath() === undefined) {
    results.note('15. skipped: no chromium on this machine (apt-get install chromium)')
    return
  }
  const size = plan.fetchSize
  const dir = await benchDir('b15')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const seeder = await startDaemon('b15-seeder')
  const { result } = await share(seeder, src)
  const browser = await launchBrowser()
  const runs: Record<Variant, Measured[]> = { without: [], with: [] }
  // a shared 2-core machine drifts between runs: pairs run back to back, and the figure is the median pair
  const pairs = plan.quick ? RUNS : 2 * RUNS
  try {
    for (let i = 0; i < pairs; i++) {
      const order: Variant[] = i % 2 === 0 ? ['without', 'with'] : ['with', 'without']
      for (const variant of order) {
        checkInterrupted()
        const m = await once(browser, variant, `${i}`, result.ticket, result.cid, path.join(dir, `copy-${variant}${i}.bin`), size, hash)
        runs[variant].push(m)
        progress(`  run ${i + 1}, ${variant} a browser on the transfers page: ${fmtSec(m.seconds)} daemon (${fmtRate(size, m.seconds)}); fetcher ${m.fetcherCpu.toFixed(2)} CPU s; machine ${m.cores.toFixed(2)} cores busy`)
      }
    }
  } finally {
    await browser.close()
  }
  const rate = (v: Variant): number => mbps(size, median(runs[v].map(m => m.seconds)))
  // each pair's rate with the page open over its rate without
  const ratio = median(runs.with.map((m, i) => (runs.without[i]?.seconds ?? NaN) / m.seconds))
  results.row({
    bench: '15',
    what: `fetch by ticket, ${fmtSize(size)}, 1 seeder, headless Chromium open on the fetcher's transfers page (live chunk map) (daemon "seconds"; ratio: median of ${pairs} back-to-back pairs)`,
    figure: `${rate('with').toFixed(0)} MB/s (median)`,
    baseline: `same fetch, no browser ${rate('without').toFixed(0)} MB/s (median)`,
    ratio: ratio.toFixed(2),
    target: '>= 0.95',
    result: judge(ratio, '>=', 0.95),
    runs: `median of ${pairs}`
  })
  const cpuPerGiB = (v: Variant): number => median(runs[v].map(m => m.fetcherCpu)) / (size / GiB)
  const cores = (v: Variant): string => median(runs[v].map(m => m.cores)).toFixed(2)
  results.info({
    bench: '15',
    what: 'fetcher daemon CPU s per GiB in those runs, median (machine cores busy, the browser included)',
    figure: `${cpuPerGiB('with').toFixed(2)} (${cores('with')} cores)`,
    baseline: `${cpuPerGiB('without').toFixed(2)} (${cores('without')} cores)`,
    ratio: (cpuPerGiB('with') / cpuPerGiB('without')).toFixed(2),
    runs: `median of ${pairs}`
  })
  results.detail(`15. ${fmtSize(size)}: daemon s without/with a browser = ${runs.without.map(m => fmtSec(m.seconds)).join(', ')} / ${runs.with.map(m => fmtSec(m.seconds)).join(', ')}; fetcher CPU s without/with = ${runs.without.map(m => m.fetcherCpu.toFixed(2)).join(', ')} / ${runs.with.map(m => m.fetcherCpu.toFixed(2)).join(', ')}; machine cores busy without/with = ${runs.without.map(m => m.cores.toFixed(2)).join(', ')} / ${runs.with.map(m => m.cores.toFixed(2)).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

function median (xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] ?? NaN : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}

/** One fetch into a fresh fetcher (gateway on in both variants), with or without the UI open on it. */
async function once (browser: UiBrowser, variant: Variant, tag: string, ticket: string, cid: string, out: string, size: number, hash: string): Promise<Measured> {
  const fetcher = await startDaemon(`b15-fetcher-${variant}${tag}`, [], { args: ['--gateway', '127.0.0.1:0'] })
  let page: Page | undefined
  let seen: Promise<unknown> | undefined
  try {
    if (variant === 'with') {
      const ui = await cliJson<{ loginUrl: string }>(['ui', '--print', '--json', '--repo', fetcher.repo])
      page = await browser.browser.newPage()
      await page.goto(ui.loginUrl)
      await page.waitForSelector('#live.on')
      // the page must really show this transfer's map while it runs (and, done, full)
      seen = page.waitForSelector(`.transfer[data-cid="${cid}"] .chunkmap .cell.held`, { timeout: 120_000 })
    }
    const cpu0 = await cpuSeconds(fetcher.pid)
    const m0 = await machineCpu()
    const f = await fetchTimed(fetcher, ticket, out, size)
    const m1 = await machineCpu()
    const fetcherCpu = await cpuSeconds(fetcher.pid) - cpu0
    await seen
    await verifyFile(out, hash)
    await fs.rm(out, { force: true })
    return { ...f, fetcherCpu, cores: busyCores(m0, m1) }
  } finally {
    await page?.close().catch(() => {})
    await stopDaemon(fetcher)
  }
}

export const uiOpen: Benchmark = {
  n: 15,
  name: 'fetch with the web UI open vs without',
  run,
  method: (plan) => `One seeder shares a random ${fmtSize(plan.fetchSize)} file; each run
   starts a fresh fetcher daemon with \`--gateway 127.0.0.1:0\` and runs
   \`shoal fetch <ticket> --json\` into it, once with nothing watching and once
   with a headless Chromium (Debian's, through puppeteer-core) that opened
   \`shoal ui\`'s URL and shows the transfers page: one event stream, the
   download's chunk map updated up to 4 times a second, and checked to have
   drawn held chunks of this transfer. The two run back to back as a pair,
   alternating which goes first, ${plan.quick ? RUNS : 2 * RUNS} pairs (the machine's load drifts
   between pairs more than within one); rates are the daemon's own "seconds"
   from the final \`done\` event, medians; the ratio is the median over the
   pairs of (rate with the page) / (rate without). CPU: the fetcher daemon's user + system
   time over the fetch (\`/proc/<pid>/stat\`); cores busy: the whole machine,
   the browser's processes included.`
}
