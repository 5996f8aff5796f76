/**
 * 1. Fetch by ticket from one seeder against a bare libp2p stream between
 * two processes on the same stack (bench/raw-peer.ts), with the CPU time each
 * side spends, and against writing the same size to a fresh file.
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ROOT, isRunning, within } from '../../examples/support/cli-process.js'
import { EventProcess, READY_TIMEOUT_MS } from '../../examples/support/daemon-process.js'
import { writeRandomFile } from '../../examples/support/files.js'
import { fetchTimed, share, startDaemon, stopDaemon, stopDaemons, uniqueName, verifyFile } from '../lib/daemons.js'
import type { Fetched } from '../lib/daemons.js'
import { GiB, MiB, best, fmtRate, fmtSec, fmtSize, mbps, pct, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { busyCores, cpuSeconds, machineCpu } from '../lib/sampling.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

const RAW_PEER = path.join(ROOT, 'bench', 'raw-peer.ts')

/** bench/raw-peer.ts run with node --import tsx, so the pid is the peer's. */
function rawPeer (name: string, args: string[]): EventProcess {
  const { id, logFile } = uniqueName(name)
  return new EventProcess(process.execPath, ['--import', 'tsx', RAW_PEER, ...args], { name: id, logFile, cwd: ROOT })
}

async function startRawReceiver (): Promise<{ child: EventProcess, addr: string }> {
  const child = rawPeer('raw-receiver', ['receive'])
  const line = await child.waitForEvent(e => typeof e.addr === 'string', { what: 'address', timeoutMs: READY_TIMEOUT_MS })
  return { child, addr: String(line.addr) }
}

async function rawSend (addr: string, bytes: number): Promise<{ seconds: number, cpuSeconds: number }> {
  const child = rawPeer('raw-sender', ['send', addr, String(bytes)])
  const line = await child.waitForEvent(e => typeof e.seconds === 'number', { what: 'result', timeoutMs: 60_000 + bytes / 5e6 * 1000 })
  await within(child.exited, 10_000)
  if (isRunning(child.proc)) child.proc.kill('SIGKILL')
  if (line.bytes !== bytes) throw new Error(`raw-peer sent ${String(line.bytes)} bytes, expected ${bytes}`)
  return { seconds: Number(line.seconds), cpuSeconds: Number(line.cpuSeconds) }
}

/**
 * Write `size` bytes of zeros to a new file in `dir` (1 MiB writes at their
 * offsets into a file truncated to its size first, as a download's part file
 * is), then delete it: the page-cache cost every fetch pays, with no network
 * and no hashing. Wall seconds, and this process's CPU seconds (the kernel's
 * copy into the page cache is system time of the writing process).
 */
async function timeFreshWrite (dir: string, size: number): Promise<{ seconds: number, cpuSeconds: number }> {
  const file = path.join(dir, 'fresh-write.bin')
  const block = Buffer.alloc(MiB)
  const handle = await fs.open(file, 'w')
  const started = process.hrtime.bigint()
  const cpu0 = process.cpuUsage()
  try {
    await handle.truncate(size)
    for (let written = 0; written < size;) {
      const n = Math.min(MiB, size - written)
      await handle.write(block, 0, n, written)
      written += n
    }
  } finally {
    await handle.close()
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpu0)
  await fs.rm(file, { force: true })
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b1')
  const src = path.join(dir, 'source.bin')
  progress(`  writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const seeder = await startDaemon('b1-seeder')
  const { result } = await share(seeder, src)
  const receiver = await startRawReceiver()
  const raw: number[] = []
  const fetched: Fetched[] = []
  /** CPU seconds used during each transfer, per run. */
  const cpu: Array<{ receiver: number, sender: number, seeder: number, fetcher: number }> = []
  /** Whole machine: cores busy during the raw and the fetch transfer, per run. */
  const machine: Array<{ raw: number, fetch: number }> = []
  /** Writing the same size to a fresh file, per run. */
  const writes: Array<{ seconds: number, cpuSeconds: number }> = []
  try {
    for (let i = 0; i < RUNS; i++) {
      checkInterrupted()
      const recv0 = await cpuSeconds(receiver.child.pid)
      const m0 = await machineCpu()
      const sent = await rawSend(receiver.addr, size)
      const m1 = await machineCpu()
      const r = sent.seconds
      const receiverCpu = await cpuSeconds(receiver.child.pid) - recv0
      raw.push(r)
      progress(`  run ${i + 1}: raw stream ${fmtSize(size)} in ${fmtSec(r)} (${fmtRate(size, r)}); CPU receiver ${pct(receiverCpu / r)}, sender ${pct(sent.cpuSeconds / r)}; machine ${busyCores(m0, m1).toFixed(2)} of ${os.cpus().length} cores busy (incl. the sender's start-up)`)
      const w = await timeFreshWrite(dir, size)
      writes.push(w)
      progress(`  run ${i + 1}: writing ${fmtSize(size)} to a fresh file: ${fmtSec(w.seconds)}, ${w.cpuSeconds.toFixed(2)} CPU s`)
      const fetcher = await startDaemon(`b1-fetcher${i}`)
      const out = path.join(dir, `copy${i}.bin`)
      const seed0 = await cpuSeconds(seeder.pid)
      const fetch0 = await cpuSeconds(fetcher.pid)
      const m2 = await machineCpu()
      const f = await fetchTimed(fetcher, result.ticket, out, size)
      const m3 = await machineCpu()
      const seederCpu = await cpuSeconds(seeder.pid) - seed0
      const fetcherCpu = await cpuSeconds(fetcher.pid) - fetch0
      cpu.push({ receiver: receiverCpu, sender: sent.cpuSeconds, seeder: seederCpu, fetcher: fetcherCpu })
      machine.push({ raw: busyCores(m0, m1), fetch: busyCores(m2, m3) })
      fetched.push(f)
      progress(`  run ${i + 1}: fetch by ticket ${fmtSec(f.seconds)} daemon (${fmtRate(size, f.seconds)}), ${fmtSec(f.wall)} wall (${fmtRate(size, f.wall)}); CPU fetcher ${pct(fetcherCpu / f.seconds)}, seeder ${pct(seederCpu / f.seconds)}; machine ${busyCores(m2, m3).toFixed(2)} of ${os.cpus().length} cores busy (incl. the CLI's start-up)`)
      await verifyFile(out, hash)
      await fs.rm(out, { force: true })
      await stopDaemon(fetcher)
    }
  } finally {
    await receiver.child.stop()
  }
  const rawRate = mbps(size, best(raw))
  const fetchRate = mbps(size, best(fetched.map(f => f.seconds)))
  const wallRate = mbps(size, best(fetched.map(f => f.wall)))
  const ratio = fetchRate / rawRate
  results.row({
    bench: '1',
    what: `fetch by ticket, ${fmtSize(size)}, 1 seeder, verified (daemon "seconds")`,
    figure: `${fetchRate.toFixed(0)} MB/s`,
    baseline: `raw libp2p stream ${rawRate.toFixed(0)} MB/s`,
    ratio: ratio.toFixed(2),
    target: '>= 0.8',
    result: judge(ratio, '>=', 0.8),
    runs: 'better'
  })
  results.info({
    bench: '1',
    what: 'same fetch, CLI wall time (spawn to exit)',
    figure: `${wallRate.toFixed(0)} MB/s (${fmtSec(best(fetched.map(f => f.wall)))})`,
    baseline: `raw libp2p stream ${rawRate.toFixed(0)} MB/s`,
    ratio: (wallRate / rawRate).toFixed(2)
  })
  // CPU of the faster fetch run and of the faster raw run, per GiB moved and as a share of one core
  const fastFetch = fetched.indexOf(fetched.reduce((a, b) => b.seconds < a.seconds ? b : a))
  const fastRaw = raw.indexOf(best(raw))
  const c = cpu[fastFetch]
  const cr = cpu[fastRaw]
  const perGiB = (cpuS: number): string => `${(cpuS / (size / GiB)).toFixed(1)}`
  const fSec = fetched[fastFetch]?.seconds ?? NaN
  const rSec = raw[fastRaw] ?? NaN
  if (c !== undefined && cr !== undefined) {
    results.info({
      bench: '1',
      what: 'CPU s per GiB moved in those runs (% of one core while moving it)',
      figure: `fetcher ${perGiB(c.fetcher)} (${pct(c.fetcher / fSec)}), seeder ${perGiB(c.seeder)} (${pct(c.seeder / fSec)})`,
      baseline: `raw receiver ${perGiB(cr.receiver)} (${pct(cr.receiver / rSec)}), sender ${perGiB(cr.sender)} (${pct(cr.sender / rSec)})`,
      ratio: `${(c.fetcher / cr.receiver).toFixed(1)} / ${(c.seeder / cr.sender).toFixed(1)}`
    })
  }
  const fastWrite = writes.reduce((a, b) => b.seconds < a.seconds ? b : a, writes[0] ?? { seconds: NaN, cpuSeconds: NaN })
  results.info({
    bench: '1',
    what: `writing ${fmtSize(size)} to a fresh file in the fetch's folder (1 MiB writes, no network, no hashing)`,
    figure: `${fmtSec(fastWrite.seconds)}, ${perGiB(fastWrite.cpuSeconds)} CPU s per GiB`,
    baseline: `fetch daemon "seconds" ${fmtSec(fSec)}`,
    ratio: (fastWrite.seconds / fSec).toFixed(2)
  })
  results.detail(`1. ${fmtSize(size)}: writing a fresh file s (CPU s) = ${writes.map(w => `${fmtSec(w.seconds)} (${w.cpuSeconds.toFixed(2)})`).join(', ')}; raw stream s = ${raw.map(fmtSec).join(', ')}; fetch daemon s = ${fetched.map(f => fmtSec(f.seconds)).join(', ')}; fetch wall s = ${fetched.map(f => fmtSec(f.wall)).join(', ')}; CPU s fetcher/seeder = ${cpu.map(x => `${x.fetcher.toFixed(2)}/${x.seeder.toFixed(2)}`).join(', ')}; CPU s raw receiver/sender = ${cpu.map(x => `${x.receiver.toFixed(2)}/${x.sender.toFixed(2)}`).join(', ')}; whole machine, cores busy during raw/fetch (every process, incl. process start-up) = ${machine.map(x => `${x.raw.toFixed(2)}/${x.fetch.toFixed(2)}`).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

export const fetchVsRaw: Benchmark = {
  n: 1,
  name: 'fetch vs raw libp2p stream',
  run,
  method: () => `\`bench/raw-peer.ts\`: one libp2p stream between two processes on the same
   stack as the daemon, 1 MiB writes, event-listener reader (sender's clock,
   dial excluded) vs \`shoal fetch <ticket> --json\` of a random file of the same
   size into a fresh fetcher daemon; "seconds" is the daemon's own figure from
   the final \`{"type":"done"}\` event (it starts once the manifest is in hand),
   wall is spawn-to-exit of the CLI. Each copy's SHA-256 is checked afterwards.
   CPU: user + system time of the daemon processes (all threads, from
   \`/proc/<pid>/stat\`) and of the raw receiver across each transfer; the raw
   sender reports its own \`process.cpuUsage()\`. Its ratio column is
   fetcher ÷ raw receiver / seeder ÷ raw sender, CPU per byte. The fresh-file
   row writes the same size of zeros in 1 MiB writes to a new file in the
   fetch's folder (truncated to size first, as a part file is) from the bench
   process, then deletes it: what a download written through the page cache
   pays the kernel on this machine, with no network and no hashing (its CPU
   is mostly system time). Shoal writes whole chunks with O_DIRECT instead.`
}
