/**
 * 8. Idle cost: CPU time of daemons that found each other by mDNS and do
 * nothing else, against isolated daemons (--no-mdns) measured in the same
 * window. Each daemon's mDNS queries and answers, and every answer it hears
 * from the others, cost CPU while nothing is shared or fetched.
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { indent, isRunning } from '../../examples/support/cli-process.js'
import { startDaemon, stopDaemons } from '../lib/daemons.js'
import type { DaemonProcess } from '../lib/daemons.js'
import { fmtSec, progress } from '../lib/format.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { CLOCK_TICKS, cpuSeconds } from '../lib/sampling.js'
import { checkInterrupted } from '../lib/workspace.js'

/** How long the mDNS daemons may take, after the last has started, to see each other connect. */
const DISCOVERY_TIMEOUT_MS = 60_000
/**
 * The first seconds after peers connect are not idle (identify, the DHT
 * filling its tables, the last mDNS answers): the window starts after these.
 */
const SETTLE_MS = 10_000
/** CPU seconds per daemon-minute: 1% of one core. */
const TARGET = 0.6

interface Sample { at: number, cpu: number }

async function sample (d: DaemonProcess): Promise<Sample> {
  if (!isRunning(d.proc)) throw new Error(`${d.name} is no longer running; last output:\n${indent(d.tail() || '(none)')}`)
  return { cpu: await cpuSeconds(d.pid), at: performance.now() }
}

/** CPU seconds per minute of wall time between two samples. */
function perMinute (a: Sample, b: Sample): number {
  return (b.cpu - a.cpu) / ((b.at - a.at) / 60_000)
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length
/** CPU seconds per minute as a share of one core. */
const core = (perMin: number): string => `${(perMin / 60 * 100).toFixed(1)}%`

/** Resolves once `d` has printed peer:connect for every peer id in `others`. */
async function sawAll (d: DaemonProcess, others: Set<string>): Promise<void> {
  const seen = new Set<string>()
  await d.waitForEvent(e => {
    if (e.event === 'peer:connect' && typeof e.peerId === 'string' && others.has(e.peerId)) seen.add(e.peerId)
    return seen.size >= others.size
  }, { what: `peer:connect from each of the other ${others.size} mDNS daemons`, timeoutMs: DISCOVERY_TIMEOUT_MS })
}

async function run (plan: Plan, results: Results): Promise<void> {
  const n = plan.idleDaemons
  const window = plan.idleWindowSeconds
  progress(`  starting ${n} daemons with --mdns and ${n} with --no-mdns, one of each at a time...`)
  const mdns: DaemonProcess[] = []
  const isolated: DaemonProcess[] = []
  for (let k = 0; k < n; k++) {
    checkInterrupted()
    mdns.push(await startDaemon(`b8-mdns${k}`, [], { mdns: true }))
    isolated.push(await startDaemon(`b8-isolated${k}`))
  }
  const started = performance.now()
  const group = new Set(mdns.map(d => d.peerId))
  await Promise.all(mdns.map(async d => { await sawAll(d, new Set([...group].filter(id => id !== d.peerId))) }))
  const discovery = (performance.now() - started) / 1000
  checkInterrupted()
  progress(`  every mDNS daemon saw the other ${n - 1} connect ${fmtSec(discovery)} after the last start; measuring CPU time for ${window} s...`)

  // a settling time and a measured window, not waits for anything: the daemons are left alone meanwhile
  await sleep(SETTLE_MS)
  const all = [...mdns, ...isolated]
  const before = await Promise.all(all.map(sample))
  await sleep(window * 1000)
  checkInterrupted()
  const after = await Promise.all(all.map(sample))
  const rates = all.map((_, i) => perMinute(before[i] as Sample, after[i] as Sample))
  const mdnsRates = rates.slice(0, n)
  const isoRates = rates.slice(n)
  const m = mean(mdnsRates)
  const iso = mean(isoRates)
  progress(`  CPU s per daemon-minute: mDNS ${m.toFixed(2)} (${core(m)} of a core), isolated ${iso.toFixed(2)} (${core(iso)})`)

  // peers outside the group (mDNS daemons of other runs on this host) add to the mDNS figure: say so
  const foreign = new Set(mdns.flatMap(d => d.events()).filter(e => e.event === 'peer:connect' && typeof e.peerId === 'string' && !group.has(e.peerId)).map(e => String(e.peerId)))
  if (foreign.size > 0) results.note(`8: the mDNS daemons also connected to ${foreign.size} peer(s) outside the benchmark (other mDNS daemons on this host); their traffic is in the mDNS figure`)
  const strays = isolated.filter(d => d.events().some(e => e.event === 'peer:connect'))
  if (strays.length > 0) results.note(`8: ${strays.length} of the isolated daemons saw a peer connect (${strays.map(d => d.name).join(', ')})`)

  results.row({
    bench: '8',
    what: `idle: ${n} daemons that found each other by mDNS, CPU s per daemon-minute over ${window} s (% of one core)`,
    figure: `${m.toFixed(2)} (${core(m)})`,
    baseline: `${n} isolated daemons (--no-mdns) ${iso.toFixed(2)} (${core(iso)})`,
    ratio: iso > 0 ? (m / iso).toFixed(1) : '-',
    target: `<= ${TARGET} (1% of one core)`,
    result: judge(m, '<=', TARGET),
    runs: 'one window'
  })
  const list = (xs: number[]): string => xs.map(x => x.toFixed(2)).join(', ')
  results.detail(`8. ${n} + ${n} daemons, ${window} s window (clock ticks of 1/${CLOCK_TICKS} s), starting ${fmtSec(discovery)} after the last start when every mDNS daemon had seen the other ${n - 1} connect: CPU s per daemon-minute, mDNS = ${list(mdnsRates)}; isolated = ${list(isoRates)}${foreign.size > 0 ? `; peers from outside the benchmark: ${foreign.size}` : ''}`)
  await stopDaemons()
}

export const idleMdnsCpu: Benchmark = {
  n: 8,
  name: 'idle CPU with mDNS',
  run,
  method: plan => `${plan.idleDaemons} daemons with \`--mdns\` and ${plan.idleDaemons} with \`--no-mdns\` on this host, each in its
   own repo listening on 127.0.0.1, none bootstrapped, started one of each at a
   time. Once every mDNS daemon has printed \`{"event":"peer:connect"}\` for each of
   the other ${plan.idleDaemons - 1} (a bounded wait, ${DISCOVERY_TIMEOUT_MS / 1000} s), and ${SETTLE_MS / 1000} s more for identify and
   the DHT to settle, the user + system CPU time of every
   daemon (all threads, \`/proc/<pid>/stat\` in \`getconf CLK_TCK\` ticks) is read at
   the start and the end of a window in which nothing is asked of them
   (${plan.idleWindowSeconds} s; 60 s full, 15 s with \`--quick\`). Figure: CPU seconds per daemon per
   minute, the mean of the mDNS group (and as a share of one core); baseline:
   the isolated group in the same window; ratio mDNS / isolated. Target:
   <= ${TARGET} CPU s per daemon-minute, 1% of one core. One window, not two runs.`
}
