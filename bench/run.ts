/**
 * Shoal benchmarks: real daemons and the real CLI (separate processes) on
 * 127.0.0.1, each figure next to a baseline measured in the same run.
 *
 *   npm run bench               full sizes (several minutes)
 *   npm run bench -- --quick    smaller sizes
 *   npm run bench -- --only 1,7 a subset (1 fetch vs raw, 2 share vs sha256,
 *                               3 multi-source, 4 swarm, 5 small files,
 *                               6 time to first byte + DHT, 7 peak RSS)
 *   npm run bench -- --keep     keep the temp dir (repos, daemon logs)
 *
 * Prints one table on stdout, progress on stderr, and writes bench/RESULTS.md
 * (table, command, date, machine, every run's values). Every measured
 * transfer runs twice (RUNS); each row says whether it shows the better or
 * the worse of the two. Daemons are spawned as `node <cli> daemon` (so the
 * child pid is the daemon) and killed on exit, error and Ctrl-C.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { createWriteStream, existsSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { WriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { FetchEvent, ShareResult, StatusInfo } from '@shoal/protocol'
import { startDaemon as startHostDaemon, stopAll as stopHostDaemons } from '../test/harness.js'
import type { Daemon as HarnessDaemon } from '../test/harness.js'
import { TestNet, netnsUnavailable } from '../test/netns.js'
import { UsageError, asUsage, collect, describeExit, describeRun, indent, isRunning, lastJsonLine, within } from '../examples/support/cli-process.js'
import type { CliRun, Exit } from '../examples/support/cli-process.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CLI = path.join(ROOT, 'packages', 'cli', 'dist', 'bin.js')
const RAW_PEER = path.join(ROOT, 'bench', 'raw-peer.ts')
const RESULTS_FILE = path.join(ROOT, 'bench', 'RESULTS.md')

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
/** Every measured transfer runs this many times. */
const RUNS = 2
const READY_TIMEOUT_MS = 30_000
const CLI_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000
/** Free space (on the temp dir's filesystem) below which the RSS bench is skipped. */
const RSS_MIN_FREE = 10 * GiB
const RSS_TARGET = 300 * MiB

const USAGE = `usage: npm run bench [-- --quick] [-- --only 1,2,...] [-- --keep]

  --quick     smaller sizes (fetch 256 MiB, multi-source 128 MiB, swarm 64 MiB, RSS 1 GiB)
  --only L    run only these benchmarks (comma list of 1..7)
  --keep      keep the temp dir (daemon repos and logs)
  --help      this text`

// ---------------------------------------------------------------- options

interface Plan {
  quick: boolean
  only: Set<number>
  keep: boolean
  fetchSize: number
  multiSize: number
  swarmSize: number
  rssSize: number
  smallFiles: number
  smallFileSize: number
  swarmLeechers: number
  multiSeeders: number
  chainLength: number
}


function parsePlan (argv: string[]): Plan | 'help' {
  const { values } = asUsage(() => parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true,
    allowPositionals: false
  }))
  if (values.help === true) return 'help'
  const only = new Set<number>()
  for (const part of (values.only ?? '1,2,3,4,5,6,7').split(',')) {
    const n = Number(part.trim())
    if (!Number.isInteger(n) || n < 1 || n > 7) throw new UsageError(`--only takes numbers 1..7, got '${part}'`)
    only.add(n)
  }
  const quick = values.quick === true
  return {
    quick,
    only,
    keep: values.keep === true,
    fetchSize: quick ? 256 * MiB : GiB,
    multiSize: quick ? 128 * MiB : 512 * MiB,
    swarmSize: quick ? 64 * MiB : 256 * MiB,
    rssSize: quick ? GiB : 4 * GiB,
    smallFiles: 2000,
    smallFileSize: 4 * KiB,
    swarmLeechers: 8,
    multiSeeders: 4,
    chainLength: 10
  }
}

// ---------------------------------------------------------------- formatting

function progress (line: string): void {
  process.stderr.write(`[bench] ${line}\n`)
}

function fmtSize (bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`
  if (bytes >= KiB) return `${+(bytes / KiB).toFixed(1)} KiB`
  return `${bytes} B`
}

/** Decimal megabytes per second, as in shared/STACK.md. */
function mbps (bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds
}

function fmtRate (bytes: number, seconds: number): string {
  return `${mbps(bytes, seconds).toFixed(0)} MB/s`
}

function fmtSec (s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`
}

function pct (x: number): string {
  return `${(x * 100).toFixed(0)}%`
}

function fmtMiB (bytes: number): string {
  return `${(bytes / MiB).toFixed(0)} MiB`
}

function errText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function textTable (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? c.length)).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function markdownTable (header: string[], rows: string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|')
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(r => `| ${r.map(esc).join(' | ')} |`)
  ].join('\n')
}

const best = (xs: number[]): number => Math.min(...xs)
const worst = (xs: number[]): number => Math.max(...xs)

// ---------------------------------------------------------------- results

type Verdict = 'met' | 'missed' | '-' | 'skipped' | 'failed'

interface Row {
  bench: string
  what: string
  figure: string
  baseline: string
  ratio: string
  target: string
  result: Verdict
  /** Which of the RUNS runs the figure shows. */
  runs: string
}

const rows: Row[] = []

/** A row with no target, for information: the better of the runs. */
function infoRow (row: Pick<Row, 'bench' | 'what' | 'figure' | 'baseline' | 'ratio'>): void {
  rows.push({ ...row, target: '-', result: '-', runs: 'better' })
}
/** Every run's values, per benchmark, for RESULTS.md. */
const details: string[] = []
const notes: string[] = []

function judge (value: number, op: '>=' | '<=', target: number): Verdict {
  return (op === '>=' ? value >= target : value <= target) ? 'met' : 'missed'
}

// ---------------------------------------------------------------- processes

/** Every child process still running (killed on exit, error and Ctrl-C). */
const children = new Set<ChildProcess>()
let interrupted = false

/**
 * A long-running child (daemon, raw receiver): stdout and stderr go to a log
 * file; JSON lines on stdout can be waited for.
 */
class Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly exited: Promise<Exit>
  readonly logFile: string
  private readonly log: WriteStream
  private readonly recent: string[] = []
  private readonly events: Array<Record<string, unknown>> = []
  private readonly waiters: Array<{ match: (e: Record<string, unknown>) => boolean, resolve: (e: Record<string, unknown>) => void }> = []

  constructor (name: string, args: string[], logFile: string) {
    if (interrupted) throw new Error('interrupted')
    this.name = name
    this.logFile = logFile
    this.log = createWriteStream(logFile)
    this.log.write(`$ node ${args.join(' ')}\n`)
    const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    children.add(proc)
    this.exited = new Promise<Exit>(resolve => {
      proc.once('exit', (code, signal) => { resolve({ code, signal }) })
      proc.once('error', (err) => {
        this.remember(`[spawn error] ${err.message}`)
        if (!isRunning(proc)) resolve({ code: proc.exitCode ?? -1, signal: proc.signalCode })
      })
    })
    void this.exited.then(e => {
      children.delete(proc)
      this.log.end(`[exited: ${describeExit(e)}]\n`)
    })
    if (proc.stdout !== null) {
      createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', line => {
        this.remember(line)
        let value: unknown
        try { value = JSON.parse(line) } catch { return }
        if (typeof value !== 'object' || value === null) return
        const event = value as Record<string, unknown>
        this.events.push(event)
        for (const w of [...this.waiters]) {
          if (w.match(event)) {
            this.waiters.splice(this.waiters.indexOf(w), 1)
            w.resolve(event)
          }
        }
      })
    }
    if (proc.stderr !== null) {
      createInterface({ input: proc.stderr, crlfDelay: Infinity }).on('line', line => { this.remember(`[stderr] ${line}`) })
    }
  }

  private remember (line: string): void {
    if (!this.log.writableEnded) this.log.write(line + '\n')
    this.recent.push(line)
    if (this.recent.length > 40) this.recent.shift()
  }

  get pid (): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name} has no pid`)
    return this.proc.pid
  }

  tail (): string {
    return this.recent.join('\n')
  }

  /** The first JSON line on stdout that matches; fails if the child exits or `ms` pass first. */
  async waitJson (match: (e: Record<string, unknown>) => boolean, what: string, ms: number): Promise<Record<string, unknown>> {
    const seen = this.events.find(match)
    if (seen !== undefined) return seen
    let waiter: { match: (e: Record<string, unknown>) => boolean, resolve: (e: Record<string, unknown>) => void } | undefined
    const found = new Promise<Record<string, unknown>>(resolve => { waiter = { match, resolve }; this.waiters.push(waiter) })
    const result = await within(Promise.race([
      found.then(event => ({ event })),
      this.exited.then(exit => ({ exit }))
    ]), ms)
    if (waiter !== undefined && this.waiters.includes(waiter)) this.waiters.splice(this.waiters.indexOf(waiter), 1)
    if (result === 'timeout') throw new Error(`${this.name}: no ${what} within ${ms / 1000} s; last output:\n${indent(this.tail())}`)
    if ('exit' in result) throw new Error(`${this.name} exited (${describeExit(result.exit)}) before ${what}; last output:\n${indent(this.tail())}`)
    return result.event
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop (): Promise<void> {
    if (isRunning(this.proc)) this.proc.kill('SIGTERM')
    if (await within(this.exited, STOP_GRACE_MS) === 'timeout') {
      progress(`${this.name} still running ${STOP_GRACE_MS / 1000} s after SIGTERM; killing it`)
      this.proc.kill('SIGKILL')
      await this.exited
    }
  }
}

/** `node <cli> ARGS` to completion; SIGKILL after `timeoutMs`. */
async function runCli (args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<CliRun> {
  if (interrupted) throw new Error('interrupted')
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(proc)
  try {
    return await collect(proc, timeoutMs)
  } finally {
    children.delete(proc)
  }
}

/** `shoal ARGS --json`; the last JSON line of stdout, with the wall time. */
async function cliJson<T> (args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<{ value: T, seconds: number }> {
  const r = await runCli([...args, '--json'], timeoutMs)
  return { value: lastJsonLine<T>(r, args), seconds: r.seconds }
}

// ---------------------------------------------------------------- daemons

let workDir: string | undefined
let workRemoved = false
let keepWork = false
let daemonCount = 0

interface Daemon {
  child: Child
  repo: string
  peerId: string
  /** A dialable multiaddr with /p2p/<id>. */
  addr: string
}

/** Daemons of the benchmark now running; stopped after each benchmark. */
const daemons = new Set<Daemon>()

function work (): string {
  if (workDir === undefined) throw new Error('no work dir')
  return workDir
}

async function startDaemon (name: string, bootstrap: string[] = []): Promise<Daemon> {
  const id = `${name}-${++daemonCount}`
  const repo = path.join(work(), 'repos', id)
  const args = [CLI, 'daemon', '--repo', repo, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json',
    ...bootstrap.flatMap(b => ['--bootstrap', b])]
  const child = new Child(id, args, path.join(work(), 'logs', `${id}.log`))
  const daemon: Daemon = { child, repo, peerId: '', addr: '' }
  daemons.add(daemon)
  const ready = await child.waitJson(e => e.event === 'ready', 'ready event', READY_TIMEOUT_MS)
  const addrs = Array.isArray(ready.addrs) ? ready.addrs.filter((a): a is string => typeof a === 'string') : []
  const addr = addrs.find(a => a.startsWith('/ip4/127.0.0.1/') && a.includes('/p2p/')) ?? addrs[0]
  if (typeof ready.peerId !== 'string' || addr === undefined) throw new Error(`${id}: ready event without peer id or address: ${JSON.stringify(ready)}`)
  daemon.peerId = ready.peerId
  daemon.addr = addr.includes('/p2p/') ? addr : `${addr}/p2p/${ready.peerId}`
  return daemon
}

async function stopDaemon (d: Daemon): Promise<void> {
  await d.child.stop()
  daemons.delete(d)
}

async function stopDaemons (): Promise<void> {
  await Promise.all([...daemons].map(stopDaemon))
}

async function share (d: Daemon, file: string): Promise<{ result: ShareResult, seconds: number }> {
  const { value, seconds } = await cliJson<ShareResult>(['share', file, '--repo', d.repo], 10 * 60_000)
  if (typeof value.cid !== 'string' || typeof value.ticket !== 'string') throw new Error(`shoal share printed no cid/ticket: ${JSON.stringify(value)}`)
  return { result: value, seconds }
}

async function status (d: Daemon): Promise<StatusInfo> {
  return (await cliJson<StatusInfo>(['status', '--repo', d.repo])).value
}

interface Fetched {
  /** CLI wall time, spawn to exit. */
  wall: number
  /** The daemon's own figure from the final {"type":"done"} event. */
  seconds: number
}

/** `shoal fetch ID -o OUT --json` on `d`; throws unless it exits 0 with a done event. */
async function fetchTimed (d: Daemon, id: string, out: string, size: number): Promise<Fetched> {
  const timeoutMs = 60_000 + size / 5e6 * 1000 // 5 MB/s is far below anything sane
  const r = await runCli(['fetch', id, '--repo', d.repo, '-o', out, '--json'], timeoutMs)
  const events = r.stdout.trim().split('\n').filter(l => l !== '').map(l => { try { return JSON.parse(l) as FetchEvent } catch { return undefined } })
  const done = events.find((e): e is Extract<FetchEvent, { type: 'done' }> => e?.type === 'done')
  if (r.code !== 0 || done === undefined) {
    const last = r.stdout.trim().split('\n').pop()
    throw new Error(`${d.child.name}: fetch ${id.slice(0, 24)}... failed (${describeRun(r)})` +
      (r.stderr.trim() !== '' ? `; stderr:\n${indent(r.stderr)}` : '') +
      (last !== undefined && last !== '' ? `\n    last event: ${last}` : '') +
      `\n    daemon log: ${d.child.logFile}`)
  }
  return { wall: r.seconds, seconds: done.seconds }
}

/** Peak resident set (VmHWM) of a running process, in bytes. */
async function peakRss (pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/status`, 'utf8')
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text)
  if (m === null || m[1] === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Number(m[1]) * KiB
}

/** CPU seconds (user + system) a running process has used so far. */
async function cpuSeconds (pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8')
  // fields after the ")" that closes the command name: state is field 3, utime 14, stime 15
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  if (!Number.isFinite(ticks)) throw new Error(`cannot read CPU time from /proc/${pid}/stat`)
  return ticks / CLOCK_TICKS
}
/** Busy and total CPU time of the whole machine so far (from /proc/stat), in seconds. */
async function machineCpu (): Promise<{ busy: number, total: number }> {
  const first = (await fs.readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
  const v = first.trim().split(/\s+/).slice(1).map(Number)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS }
}

/** Cores' worth of the machine that was busy between two machineCpu() samples. */
function busyCores (a: { busy: number, total: number }, b: { busy: number, total: number }): number {
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) * os.cpus().length : 0
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100

/** POST /v1/shares on the daemon's control socket directly (no CLI start-up); with its wall time. */
async function shareViaApi (d: Daemon, file: string): Promise<{ result: ShareResult, seconds: number }> {
  const started = performance.now()
  const body = JSON.stringify({ path: file })
  const reply = await new Promise<{ status: number, text: string }>((resolve, reject) => {
    const req = http.request({
      socketPath: path.join(d.repo, 'shoal.sock'),
      path: '/v1/shares',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, res => {
      let text = ''
      res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => { resolve({ status: res.statusCode ?? 0, text }) }).on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
  const seconds = (performance.now() - started) / 1000
  if (reply.status !== 200) throw new Error(`POST /v1/shares: HTTP ${reply.status}: ${reply.text}`)
  return { result: JSON.parse(reply.text) as ShareResult, seconds }
}

// ---------------------------------------------------------------- files

/** Write `size` random bytes in 1 MiB pieces; returns their SHA-256. */
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

async function writeRandomFile (file: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  const block = Buffer.alloc(MiB)
  const handle = await fs.open(file, 'w')
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(MiB, size - written)
      const piece = block.subarray(0, n)
      randomFillSync(piece)
      hash.update(piece)
      await handle.write(piece, 0, n, written)
      written += n
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

/** SHA-256 of a file, streaming 1 MiB reads; with the time it took. */
async function sha256File (file: string): Promise<{ hex: string, seconds: number }> {
  const started = performance.now()
  const hash = createHash('sha256')
  const block = Buffer.alloc(MiB)
  const handle = await fs.open(file, 'r')
  try {
    for (let pos = 0; ;) {
      const { bytesRead } = await handle.read(block, 0, MiB, pos)
      if (bytesRead === 0) break
      hash.update(block.subarray(0, bytesRead))
      pos += bytesRead
    }
  } finally {
    await handle.close()
  }
  return { hex: hash.digest('hex'), seconds: (performance.now() - started) / 1000 }
}

async function verifyFile (file: string, expected: string): Promise<void> {
  const { hex } = await sha256File(file)
  if (hex !== expected) throw new Error(`${file}: SHA-256 ${hex}, expected ${expected}`)
}

/** Relative path → SHA-256 of every file below `root`. */
async function treeDigest (root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  async function walk (dir: string, rel: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`
      const abs = path.join(dir, entry.name)
      if (entry.isDirectory()) await walk(abs, childRel)
      else out.set(childRel, createHash('sha256').update(await fs.readFile(abs)).digest('hex'))
    }
  }
  await walk(root, '')
  return out
}

async function benchDir (name: string): Promise<string> {
  const dir = path.join(work(), name)
  await fs.mkdir(dir, { recursive: true })
  return dir
}

function checkInterrupted (): void {
  if (interrupted) throw new Error('interrupted')
}

// ---------------------------------------------------------------- raw baseline

/** bench/raw-peer.ts receive, run with node --import tsx so the pid is the receiver. */
async function startRawReceiver (): Promise<{ child: Child, addr: string }> {
  const child = new Child('raw-receiver', ['--import', 'tsx', RAW_PEER, 'receive'], path.join(work(), 'logs', 'raw-receiver.log'))
  const line = await child.waitJson(e => typeof e.addr === 'string', 'address', READY_TIMEOUT_MS)
  return { child, addr: String(line.addr) }
}

async function rawSend (addr: string, bytes: number): Promise<{ seconds: number, cpuSeconds: number }> {
  const child = new Child('raw-sender', ['--import', 'tsx', RAW_PEER, 'send', addr, String(bytes)], path.join(work(), 'logs', `raw-sender-${++daemonCount}.log`))
  const line = await child.waitJson(e => typeof e.seconds === 'number', 'result', 60_000 + bytes / 5e6 * 1000)
  await within(child.exited, 10_000)
  if (isRunning(child.proc)) child.proc.kill('SIGKILL')
  if (line.bytes !== bytes) throw new Error(`raw-peer sent ${String(line.bytes)} bytes, expected ${bytes}`)
  return { seconds: Number(line.seconds), cpuSeconds: Number(line.cpuSeconds) }
}

// ---------------------------------------------------------------- 1. fetch vs raw stream

async function benchFetch (plan: Plan): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b1')
  const src = path.join(dir, 'source.bin')
  progress(`1/7 fetch vs raw stream: writing ${fmtSize(size)}...`)
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
      const seed0 = await cpuSeconds(seeder.child.pid)
      const fetch0 = await cpuSeconds(fetcher.child.pid)
      const m2 = await machineCpu()
      const f = await fetchTimed(fetcher, result.ticket, out, size)
      const m3 = await machineCpu()
      const seederCpu = await cpuSeconds(seeder.child.pid) - seed0
      const fetcherCpu = await cpuSeconds(fetcher.child.pid) - fetch0
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
  rows.push({
    bench: '1',
    what: `fetch by ticket, ${fmtSize(size)}, 1 seeder, verified (daemon "seconds")`,
    figure: `${fetchRate.toFixed(0)} MB/s`,
    baseline: `raw libp2p stream ${rawRate.toFixed(0)} MB/s`,
    ratio: ratio.toFixed(2),
    target: '>= 0.8',
    result: judge(ratio, '>=', 0.8),
    runs: 'better'
  })
  infoRow({
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
    infoRow({
      bench: '1',
      what: 'CPU s per GiB moved in those runs (% of one core while moving it)',
      figure: `fetcher ${perGiB(c.fetcher)} (${pct(c.fetcher / fSec)}), seeder ${perGiB(c.seeder)} (${pct(c.seeder / fSec)})`,
      baseline: `raw receiver ${perGiB(cr.receiver)} (${pct(cr.receiver / rSec)}), sender ${perGiB(cr.sender)} (${pct(cr.sender / rSec)})`,
      ratio: `${(c.fetcher / cr.receiver).toFixed(1)} / ${(c.seeder / cr.sender).toFixed(1)}`
    })
  }
  const fastWrite = writes.reduce((a, b) => b.seconds < a.seconds ? b : a, writes[0] ?? { seconds: NaN, cpuSeconds: NaN })
  infoRow({
    bench: '1',
    what: `writing ${fmtSize(size)} to a fresh file in the fetch's folder (1 MiB writes, no network, no hashing)`,
    figure: `${fmtSec(fastWrite.seconds)}, ${perGiB(fastWrite.cpuSeconds)} CPU s per GiB`,
    baseline: `fetch daemon "seconds" ${fmtSec(fSec)}`,
    ratio: (fastWrite.seconds / fSec).toFixed(2)
  })
  details.push(`1. ${fmtSize(size)}: writing a fresh file s (CPU s) = ${writes.map(w => `${fmtSec(w.seconds)} (${w.cpuSeconds.toFixed(2)})`).join(', ')}; raw stream s = ${raw.map(fmtSec).join(', ')}; fetch daemon s = ${fetched.map(f => fmtSec(f.seconds)).join(', ')}; fetch wall s = ${fetched.map(f => fmtSec(f.wall)).join(', ')}; CPU s fetcher/seeder = ${cpu.map(x => `${x.fetcher.toFixed(2)}/${x.seeder.toFixed(2)}`).join(', ')}; CPU s raw receiver/sender = ${cpu.map(x => `${x.receiver.toFixed(2)}/${x.sender.toFixed(2)}`).join(', ')}; whole machine, cores busy during raw/fetch (every process, incl. process start-up) = ${machine.map(x => `${x.raw.toFixed(2)}/${x.fetch.toFixed(2)}`).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- 2. share vs sha256

async function benchShare (plan: Plan): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b2')
  const daemon = await startDaemon('b2-sharer')
  const shaTimes: number[] = []
  const shareTimes: number[] = []
  const apiTimes: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const file = path.join(dir, `fresh${i}.bin`)
    progress(`2/7 share vs SHA-256: run ${i + 1}: writing a fresh ${fmtSize(size)} file...`)
    const expected = await writeRandomFile(file, size)
    await sha256File(file) // page cache warm for both
    const sha = await sha256File(file)
    if (sha.hex !== expected) throw new Error(`${file}: SHA-256 changed between reads`)
    shaTimes.push(sha.seconds)
    const { result, seconds } = await share(daemon, file)
    if (result.size !== size) throw new Error(`share reported ${result.size} bytes, expected ${size}`)
    shareTimes.push(seconds)
    // the same file again straight on the control socket: the daemon's own share time (it keeps no hash cache)
    await cliJson(['unshare', result.cid, '--repo', daemon.repo])
    const api = await shareViaApi(daemon, file)
    if (api.result.cid !== result.cid) throw new Error(`share via the API gave ${api.result.cid}, the CLI ${result.cid}`)
    apiTimes.push(api.seconds)
    progress(`  run ${i + 1}: SHA-256 ${fmtSec(sha.seconds)} (${fmtRate(size, sha.seconds)}), shoal share ${fmtSec(seconds)} (${fmtRate(size, seconds)}), control API share ${fmtSec(api.seconds)}`)
    await cliJson(['unshare', result.cid, '--repo', daemon.repo]).catch(() => {})
    await fs.rm(file, { force: true })
  }
  const shaBest = best(shaTimes)
  const shareBest = best(shareTimes)
  const ratio = shareBest / shaBest
  rows.push({
    bench: '2',
    what: `shoal share of a fresh ${fmtSize(size)} file (CLI wall, page cache warm)`,
    figure: `${fmtSec(shareBest)} (${fmtRate(size, shareBest)})`,
    baseline: `SHA-256 in process, 1 MiB reads: ${fmtSec(shaBest)} (${fmtRate(size, shaBest)})`,
    ratio: ratio.toFixed(2),
    target: '<= 1.3 (time)',
    result: judge(ratio, '<=', 1.3),
    runs: 'better'
  })
  const apiBest = best(apiTimes)
  infoRow({
    bench: '2',
    what: 'same file re-shared via POST /v1/shares on the socket (no CLI start-up)',
    figure: `${fmtSec(apiBest)} (${fmtRate(size, apiBest)})`,
    baseline: `SHA-256 in process ${fmtSec(shaBest)}`,
    ratio: (apiBest / shaBest).toFixed(2)
  })
  details.push(`2. ${fmtSize(size)}: SHA-256 s = ${shaTimes.map(fmtSec).join(', ')}; shoal share s = ${shareTimes.map(fmtSec).join(', ')}; control API share s = ${apiTimes.map(fmtSec).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- 3. multi-source

async function benchMulti (plan: Plan): Promise<void> {
  const size = plan.multiSize
  const n = plan.multiSeeders
  const dir = await benchDir('b3')
  const src = path.join(dir, 'source.bin')
  progress(`3/7 multi-source: writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const single: Fetched[] = []
  const multi: Fetched[] = []
  for (let i = 0; i < RUNS; i++) {
    // fresh daemons each run, so no run sees providers left over by an earlier one
    checkInterrupted()
    {
      const seeder = await startDaemon(`b3-solo${i}`)
      const { result } = await share(seeder, src)
      const fetcher = await startDaemon(`b3-fetch1-${i}`, [seeder.addr])
      const out = path.join(dir, `single${i}.bin`)
      const f = await fetchTimed(fetcher, result.cid, out, size)
      single.push(f)
      progress(`  run ${i + 1}: 1 seeder -> 1 fetcher by id: ${fmtSec(f.seconds)} daemon (${fmtRate(size, f.seconds)}), ${fmtSec(f.wall)} wall`)
      await verifyFile(out, hash)
      await fs.rm(out, { force: true })
      await stopDaemons()
    }
    checkInterrupted()
    {
      const first = await startDaemon(`b3-seed${i}-0`)
      const rest = await Promise.all(Array.from({ length: n - 1 }, async (_, k) => await startDaemon(`b3-seed${i}-${k + 1}`, [first.addr])))
      const seeders = [first, ...rest]
      const shares = await Promise.all(seeders.map(async s => (await share(s, src)).result))
      const cid = shares[0]?.cid ?? ''
      if (shares.some(s => s.cid !== cid)) throw new Error('the seeders got different content ids for the same file')
      const fetcher = await startDaemon(`b3-fetchN-${i}`, seeders.map(s => s.addr))
      const out = path.join(dir, `multi${i}.bin`)
      const f = await fetchTimed(fetcher, cid, out, size)
      multi.push(f)
      const ups = await Promise.all(seeders.map(async s => (await status(s)).uploaded))
      progress(`  run ${i + 1}: ${n} seeders -> 1 fetcher by id: ${fmtSec(f.seconds)} daemon (${fmtRate(size, f.seconds)}), ${fmtSec(f.wall)} wall; seeders sent ${ups.map(fmtMiB).join(' / ')}`)
      details.push(`3. run ${i + 1}: ${n} seeders uploaded ${ups.map(fmtMiB).join(', ')} of ${fmtSize(size)}`)
      await verifyFile(out, hash)
      await fs.rm(out, { force: true })
      await stopDaemons()
    }
  }
  const singleRate = mbps(size, best(single.map(f => f.seconds)))
  const multiRate = mbps(size, best(multi.map(f => f.seconds)))
  const ratio = multiRate / singleRate
  rows.push({
    bench: '3',
    what: `multi-source: ${n} seeders -> 1 fetcher by id, ${fmtSize(size)} (daemon "seconds")`,
    figure: `${multiRate.toFixed(0)} MB/s`,
    baseline: `1 seeder -> 1 fetcher by id ${singleRate.toFixed(0)} MB/s`,
    ratio: ratio.toFixed(2),
    target: '>= 1.0',
    result: judge(ratio, '>=', 1.0),
    runs: 'better'
  })
  details.push(`3. ${fmtSize(size)}: single daemon s = ${single.map(f => fmtSec(f.seconds)).join(', ')} (wall ${single.map(f => fmtSec(f.wall)).join(', ')}); ${n} seeders daemon s = ${multi.map(f => fmtSec(f.seconds)).join(', ')} (wall ${multi.map(f => fmtSec(f.wall)).join(', ')})`)
  await benchMultiAcrossHosts(plan, dir, src)
  await fs.rm(dir, { recursive: true, force: true })
}

/**
 * The same comparison where sources are separate hosts with their own
 * uplinks, as in real life: network namespaces, each seeder's upload capped
 * with tc tbf. On 127.0.0.1 all five processes share two cores, so there the
 * ratio measures CPU contention more than swarming. Needs root (skipped,
 * with the reason in the notes, otherwise).
 */
async function benchMultiAcrossHosts (plan: Plan, dir: string, src: string): Promise<void> {
  const why = await netnsUnavailable()
  if (why !== undefined) { notes.push(`3 (across hosts) skipped: ${why}`); return }
  const n = plan.multiSeeders
  const cap = '100mbit'
  const size = plan.quick ? 48 * MiB : 96 * MiB
  const file = path.join(dir, 'hosts.bin')
  // the first `size` bytes of the source file
  await fs.copyFile(src, file)
  await fs.truncate(file, size)
  const expected = (await sha256File(file)).hex
  progress(`3/7 multi-source across hosts: ${n} seeders and 1 seeder, each uplink capped at ${cap}, ${fmtSize(size)}...`)
  const runOnce = async (seeders: number, tag: string): Promise<{ seconds: number, capSum: number }> => {
    const net = await TestNet.create([...Array.from({ length: seeders }, (_, k) => ({ name: `s${k}`, uploadCap: cap })), { name: 'f' }])
    try {
      const ds: HarnessDaemon[] = []
      let cid = ''
      for (let k = 0; k < seeders; k++) {
        const h = net.host(`s${k}`)
        const d = await startHostDaemon(path.join(dir, `${tag}-s${k}`), [], { netns: h.ns, listen: `/ip4/${h.addr}/tcp/4001` })
        const shared = await d.cli(['share', file, '--json'])
        if (shared.code !== 0) throw new Error(`share failed: ${shared.stderr}`)
        cid = (JSON.parse(shared.stdout) as { cid: string }).cid
        ds.push(d)
      }
      const fh = net.host('f')
      const fetcher = await startHostDaemon(path.join(dir, `${tag}-f`), ds.flatMap(d => ['--bootstrap', d.addrs[0] ?? '']), { netns: fh.ns, listen: `/ip4/${fh.addr}/tcp/4001` })
      for (const d of ds) await fetcher.waitForEvent(e => e.event === 'peer:connect' && e.peerId === d.peerId)
      const out = path.join(dir, `${tag}.out`)
      const res = await fetcher.cli(['fetch', cid, '-o', out, '--json'])
      if (res.code !== 0) throw new Error(`fetch failed: ${res.stderr}`)
      const done = res.stdout.trim().split('\n').map(l => JSON.parse(l) as { type: string, seconds?: number }).find(e => e.type === 'done')
      await verifyFile(out, expected)
      await fs.rm(out, { force: true })
      return { seconds: done?.seconds ?? Number.NaN, capSum: net.hosts.reduce((t, h) => t + (h.uploadCapBits ?? 0), 0) / 8 }
    } finally {
      await stopHostDaemons()
      await net.destroy()
    }
  }
  const one: number[] = []
  const many: number[] = []
  let capSum = 0
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const a = await runOnce(1, `h1-${i}`)
    one.push(a.seconds)
    const b = await runOnce(n, `h${n}-${i}`)
    many.push(b.seconds)
    capSum = b.capSum
    progress(`  run ${i + 1}: 1 capped seeder ${fmtRate(size, a.seconds)}, ${n} capped seeders ${fmtRate(size, b.seconds)} (sum of caps ${(capSum / 1e6).toFixed(1)} MB/s)`)
  }
  const oneRate = mbps(size, best(one))
  const manyRate = mbps(size, best(many))
  rows.push({
    bench: '3',
    what: `multi-source across hosts: ${n} seeders, uplinks capped at ${cap} (tc tbf) -> 1 fetcher by id, ${fmtSize(size)}`,
    figure: `${manyRate.toFixed(1)} MB/s`,
    baseline: `1 capped seeder -> 1 fetcher ${oneRate.toFixed(1)} MB/s`,
    ratio: (manyRate / oneRate).toFixed(2),
    target: '>= 1.0',
    result: judge(manyRate / oneRate, '>=', 1.0),
    runs: 'better'
  })
  infoRow({
    bench: '3',
    what: 'same, against the sum of the seeders\' caps',
    figure: `${manyRate.toFixed(1)} MB/s`,
    baseline: `sum of caps ${(capSum / 1e6).toFixed(1)} MB/s`,
    ratio: (manyRate * 1e6 / capSum).toFixed(2)
  })
  details.push(`3 (across hosts). ${fmtSize(size)}: 1 seeder daemon s = ${one.map(fmtSec).join(', ')}; ${n} seeders daemon s = ${many.map(fmtSec).join(', ')}`)
}

// ---------------------------------------------------------------- 4. swarm

async function benchSwarm (plan: Plan): Promise<void> {
  const size = plan.swarmSize
  const n = plan.swarmLeechers
  const dir = await benchDir('b4')
  const src = path.join(dir, 'source.bin')
  progress(`4/7 swarm: writing ${fmtSize(size)}...`)
  const hash = await writeRandomFile(src, size)
  const single: Fetched[] = []
  const swarmWall: number[] = []
  const upload: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    {
      const seeder = await startDaemon(`b4-solo${i}`)
      const { result } = await share(seeder, src)
      const fetcher = await startDaemon(`b4-single${i}`, [seeder.addr])
      const out = path.join(dir, `single${i}.bin`)
      const f = await fetchTimed(fetcher, result.cid, out, size)
      single.push(f)
      progress(`  run ${i + 1}: single transfer by id: ${fmtSec(f.wall)} wall, ${fmtSec(f.seconds)} daemon`)
      await verifyFile(out, hash)
      await fs.rm(out, { force: true })
      await stopDaemons()
    }
    checkInterrupted()
    {
      const seeder = await startDaemon(`b4-seeder${i}`)
      const { result } = await share(seeder, src)
      const leechers = await Promise.all(Array.from({ length: n }, async (_, k) => await startDaemon(`b4-leech${i}-${k}`, [seeder.addr])))
      progress(`  run ${i + 1}: 1 seeder + ${n} leechers ready; fetching at once...`)
      const started = performance.now()
      const outs = leechers.map((_, k) => path.join(dir, `swarm${i}-${k}.bin`))
      const results = await Promise.allSettled(leechers.map(async (l, k) => await fetchTimed(l, result.cid, outs[k] ?? '', size)))
      const wall = (performance.now() - started) / 1000
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed.length > 0) throw new Error(`${failed.length} of ${n} swarm fetches failed; first: ${errText(failed[0]?.reason)}`)
      const up = (await status(seeder)).uploaded
      swarmWall.push(wall)
      upload.push(up / size)
      const each = results.map(r => r.status === 'fulfilled' ? fmtSec(r.value.wall) : '-')
      progress(`  run ${i + 1}: all ${n} done in ${fmtSec(wall)}; seeder uploaded ${(up / size).toFixed(2)}x the file`)
      details.push(`4. run ${i + 1}: per-leecher wall s = ${each.join(', ')}`)
      for (const out of outs) {
        await verifyFile(out, hash)
        await fs.rm(out, { force: true })
      }
      await stopDaemons()
    }
  }
  const singleWall = best(single.map(f => f.wall))
  const swarmBest = best(swarmWall)
  infoRow({
    bench: '4',
    what: `swarm: 1 seeder + ${n} leechers by id, ${fmtSize(size)}: all done (wall)`,
    figure: `${fmtSec(swarmBest)} (${fmtRate(size * n, swarmBest)} delivered)`,
    baseline: `single transfer by id ${fmtSec(singleWall)} wall`,
    ratio: (swarmBest / singleWall).toFixed(2)
  })
  const upWorst = worst(upload)
  rows.push({
    bench: '4',
    what: 'swarm: seeder uploaded (status "uploaded" / file size)',
    figure: `${upWorst.toFixed(2)}x`,
    baseline: `file size ${fmtSize(size)}`,
    ratio: upWorst.toFixed(2),
    target: '<= 1.5x',
    result: judge(upWorst, '<=', 1.5),
    runs: 'worse'
  })
  details.push(`4. ${fmtSize(size)}: single wall s = ${single.map(f => fmtSec(f.wall)).join(', ')} (daemon ${single.map(f => fmtSec(f.seconds)).join(', ')}); swarm wall s = ${swarmWall.map(fmtSec).join(', ')}; seeder upload = ${upload.map(u => u.toFixed(2) + 'x').join(', ')}`)
  await fs.rm(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- 5. many small files

async function benchSmall (plan: Plan): Promise<void> {
  const count = plan.smallFiles
  const each = plan.smallFileSize
  const total = count * each
  const dir = await benchDir('b5')
  const tree = path.join(dir, 'small')
  progress(`5/7 small files: writing ${count} files of ${fmtSize(each)}...`)
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
    const got = await treeDigest(outDir)
    if (got.size !== expected.size || [...expected].some(([k, v]) => got.get(k) !== v)) throw new Error(`${outDir} does not match the shared tree`)
    await verifyFile(outOne, singleHash)
    await fs.rm(outDir, { recursive: true, force: true })
    await fs.rm(outOne, { force: true })
    await stopDaemons()
  }
  const shareBest = best(shareTimes)
  const shaBest = best(shaTimes)
  infoRow({
    bench: '5',
    what: `share a directory of ${count} files x ${fmtSize(each)} (CLI wall)`,
    figure: fmtSec(shareBest),
    baseline: `read + SHA-256 of the files in process ${fmtSec(shaBest)}`,
    ratio: (shareBest / shaBest).toFixed(1)
  })
  const dirBest = best(dirFetch.map(f => f.wall))
  const oneBest = best(oneFetch.map(f => f.wall))
  infoRow({
    bench: '5',
    what: `fetch that directory by ticket (CLI wall; daemon "seconds" ${fmtSec(best(dirFetch.map(f => f.seconds)))})`,
    figure: fmtSec(dirBest),
    baseline: `one ${fmtSize(total)} file by ticket ${fmtSec(oneBest)} wall`,
    ratio: (dirBest / oneBest).toFixed(1)
  })
  details.push(`5. ${count} x ${fmtSize(each)}: in-process hash s = ${shaTimes.map(fmtSec).join(', ')}; share s = ${shareTimes.map(fmtSec).join(', ')}; dir fetch wall s = ${dirFetch.map(f => fmtSec(f.wall)).join(', ')} (daemon ${dirFetch.map(f => fmtSec(f.seconds)).join(', ')}); one-file fetch wall s = ${oneFetch.map(f => fmtSec(f.wall)).join(', ')} (daemon ${oneFetch.map(f => fmtSec(f.seconds)).join(', ')})`)
  await fs.rm(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- 6. time to first byte, DHT lookup

async function benchFirstByte (plan: Plan): Promise<void> {
  const dir = await benchDir('b6')
  const floor: number[] = []
  const connected: Fetched[] = []
  const lookup: Fetched[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    progress(`6/7 time to first byte: run ${i + 1}: 1 KiB, fetcher already connected...`)
    const seeder = await startDaemon(`b6-seeder${i}`)
    const fetcher = await startDaemon(`b6-fetcher${i}`)
    await cliJson(['connect', seeder.addr, '--repo', fetcher.repo])
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
    const chain: Daemon[] = []
    for (let k = 0; k < plan.chainLength; k++) {
      const prev = chain[k - 1]
      chain.push(await startDaemon(`b6-chain${i}-${k}`, prev === undefined ? [] : [prev.addr]))
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
  infoRow({
    bench: '6',
    what: 'time to first byte: fetch 1 KiB by ticket, already connected (CLI wall)',
    figure: fmtSec(wallBest),
    baseline: `CLI floor (shoal status) ${fmtSec(floorBest)}`,
    ratio: (wallBest / floorBest).toFixed(2)
  })
  infoRow({
    bench: '6',
    what: 'same fetch, daemon "seconds"',
    figure: fmtSec(daemonBest),
    baseline: `CLI wall ${fmtSec(wallBest)}`,
    ratio: (daemonBest / wallBest).toFixed(2)
  })
  const lookupDaemon = best(lookup.map(f => f.seconds))
  const lookupWall = best(lookup.map(f => f.wall))
  infoRow({
    bench: '6',
    what: `DHT: ${plan.chainLength}-daemon chain, fetch 1 KiB by bare id on the last (daemon "seconds")`,
    figure: fmtSec(lookupDaemon),
    baseline: `connected fetch ${fmtSec(daemonBest)} daemon`,
    ratio: (lookupDaemon / daemonBest).toFixed(2)
  })
  infoRow({
    bench: '6',
    what: 'DHT: same fetch, CLI wall (includes the provider lookup)',
    figure: fmtSec(lookupWall),
    baseline: `connected fetch ${fmtSec(wallBest)} wall`,
    ratio: (lookupWall / wallBest).toFixed(2)
  })
  details.push(`6. connected: wall s = ${connected.map(f => fmtSec(f.wall)).join(', ')}, daemon s = ${connected.map(f => fmtSec(f.seconds)).join(', ')}, CLI floor s = ${floor.map(fmtSec).join(', ')}; DHT chain: wall s = ${lookup.map(f => fmtSec(f.wall)).join(', ')}, daemon s = ${lookup.map(f => fmtSec(f.seconds)).join(', ')}`)
  await fs.rm(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- 7. peak RSS

async function benchRss (plan: Plan): Promise<void> {
  const size = plan.rssSize
  const need = Math.max(RSS_MIN_FREE, 2 * size + GiB)
  const st = await fs.statfs(work())
  const free = st.bavail * st.bsize
  if (free < need) {
    const reason = `skipped: ${(free / GiB).toFixed(1)} GiB free on the temp dir's filesystem, need ${(need / GiB).toFixed(0)} GiB`
    progress(`7/7 peak RSS ${reason}`)
    for (const role of ['seeder', 'fetcher']) {
      rows.push({ bench: '7', what: `peak RSS of the ${role} daemon, ${fmtSize(size)} transfer`, figure: reason, baseline: '-', ratio: '-', target: `<= ${fmtMiB(RSS_TARGET)}`, result: 'skipped', runs: '-' })
    }
    return
  }
  const dir = await benchDir('b7')
  const src = path.join(dir, 'source.bin')
  progress(`7/7 peak RSS: writing ${fmtSize(size)} (${(free / GiB).toFixed(0)} GiB free)...`)
  const hash = await writeRandomFile(src, size)
  const runs: Array<{ seederIdle: number, fetcherIdle: number, seeder: number, fetcher: number, f: Fetched }> = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const seeder = await startDaemon(`b7-seeder${i}`)
    const fetcher = await startDaemon(`b7-fetcher${i}`)
    const seederIdle = await peakRss(seeder.child.pid)
    const fetcherIdle = await peakRss(fetcher.child.pid)
    const { result } = await share(seeder, src)
    const out = path.join(dir, `copy${i}.bin`)
    const f = await fetchTimed(fetcher, result.ticket, out, size)
    const seederPeak = await peakRss(seeder.child.pid)
    const fetcherPeak = await peakRss(fetcher.child.pid)
    runs.push({ seederIdle, fetcherIdle, seeder: seederPeak, fetcher: fetcherPeak, f })
    progress(`  run ${i + 1}: ${fmtSize(size)} in ${fmtSec(f.seconds)} (${fmtRate(size, f.seconds)}); VmHWM seeder ${fmtMiB(seederPeak)} (idle ${fmtMiB(seederIdle)}), fetcher ${fmtMiB(fetcherPeak)} (idle ${fmtMiB(fetcherIdle)})`)
    await stopDaemons()
    await verifyFile(out, hash)
    await fs.rm(out, { force: true })
  }
  for (const role of ['seeder', 'fetcher'] as const) {
    const peak = worst(runs.map(r => r[role]))
    const idle = worst(runs.map(r => role === 'seeder' ? r.seederIdle : r.fetcherIdle))
    rows.push({
      bench: '7',
      what: `peak RSS (VmHWM) of the ${role} daemon, ${fmtSize(size)} transfer by ticket${role === 'seeder' ? ' (incl. share)' : ''}`,
      figure: fmtMiB(peak),
      baseline: `same daemon idle after start ${fmtMiB(idle)}`,
      ratio: (peak / idle).toFixed(2),
      target: `<= ${fmtMiB(RSS_TARGET)}`,
      result: judge(peak, '<=', RSS_TARGET),
      runs: 'worse'
    })
  }
  details.push(`7. ${fmtSize(size)}: ` + runs.map((r, i) => `run ${i + 1}: seeder ${fmtMiB(r.seeder)} (idle ${fmtMiB(r.seederIdle)}), fetcher ${fmtMiB(r.fetcher)} (idle ${fmtMiB(r.fetcherIdle)}), transfer ${fmtSec(r.f.seconds)} daemon (${fmtRate(size, r.f.seconds)})`).join('; '))
  await fs.rm(dir, { recursive: true, force: true })
}

// ---------------------------------------------------------------- main

const BENCHES: Array<{ n: number, name: string, run: (plan: Plan) => Promise<void> }> = [
  { n: 1, name: 'fetch vs raw libp2p stream', run: benchFetch },
  { n: 2, name: 'share vs SHA-256', run: benchShare },
  { n: 3, name: 'multi-source', run: benchMulti },
  { n: 4, name: 'swarm', run: benchSwarm },
  { n: 5, name: 'many small files', run: benchSmall },
  { n: 6, name: 'time to first byte and DHT lookup', run: benchFirstByte },
  { n: 7, name: 'peak RSS', run: benchRss }
]

function commandLine (argv: string[]): string {
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
  return `npx tsx bench/run.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`
}

function machine (): string {
  const cpus = os.cpus()
  return `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / GiB).toFixed(1)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`
}

const HEADER = ['#', 'benchmark', 'figure', 'baseline (same run)', 'ratio', 'target', 'result', 'of 2 runs']

function rowCells (r: Row): string[] {
  return [r.bench, r.what, r.figure, r.baseline, r.ratio, r.target, r.result, r.runs]
}

async function writeResults (plan: Plan, argv: string[], startedAt: Date, seconds: number): Promise<void> {
  const text = `# Shoal benchmarks

- command: \`${commandLine(argv)}\`${plan.quick ? ' (quick sizes)' : ''}
- date: ${startedAt.toISOString()} (took ${(seconds / 60).toFixed(1)} min)
- machine: ${machine()}
- every daemon is a separate \`node packages/cli/dist/bin.js daemon\` process on 127.0.0.1 (TCP + Noise + Yamux), driven by the real CLI

${markdownTable(HEADER, rows.map(rowCells))}

"of 2 runs": every measured transfer ran twice; *better* is the faster run (rates
and times), *worse* is the higher of the two (ceilings: upload multiple, peak RSS).
MB/s = 10^6 bytes per second. Ratios: figure / baseline (for times, lower is
better; for rates, higher is better).

## How each figure is measured

1. \`bench/raw-peer.ts\`: one libp2p stream between two processes on the same
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
   is mostly system time). Shoal writes whole chunks with O_DIRECT instead.
2. \`shoal share\` (CLI wall, including CLI start-up of ~0.2 s) of a freshly
   written file vs SHA-256 of the same file in the bench process (createHash,
   1 MiB reads); the file is hashed once first so both read from a warm page cache.
3. Fresh daemons each run. ${plan.multiSeeders} seeders (2..${plan.multiSeeders} bootstrap to the first) share
   the same file; the fetcher bootstraps to all of them and fetches the bare
   content id. Baseline: one seeder, one fetcher bootstrapped to it, bare id.
4. Fresh daemons each run. ${plan.swarmLeechers} leechers bootstrap to the seeder and all fetch the bare
   id at once; wall time until the last exits. Upload multiple: the seeder's
   \`status --json\` \`uploaded\` / file size. Baseline: one seeder, one leecher, bare id.
5. ${plan.smallFiles} random files of ${fmtSize(plan.smallFileSize)} in one directory; share (CLI wall) vs
   reading and hashing them in the bench process; fetch by ticket vs a single
   file of the same total size by ticket between the same two daemons.
6. Fetcher connected with \`shoal connect\` before the 1 KiB file is shared; fetch
   by ticket. CLI floor: \`shoal status --json\` wall on the same daemon. DHT: ${plan.chainLength}
   daemons started in a chain (each \`--bootstrap\` to the previous), share on
   the first, \`fetch <bare id>\` on the last. The daemon's "seconds" starts once
   the manifest is fetched, so the provider lookup shows only in the wall time.
7. \`VmHWM\` from \`/proc/<pid>/status\` of the daemon processes (spawned directly,
   \`node <cli> daemon\`) right after start (baseline) and after the transfer
   (the peak over the daemon's life, so the seeder's includes hashing the share).
   Skipped with a reason when the temp filesystem has < 10 GiB free.

## Every run

${details.map(d => `- ${d}`).join('\n')}
${notes.length > 0 ? `\n## Notes\n\n${notes.map(n => `- ${n}`).join('\n')}\n` : ''}`
  await fs.writeFile(RESULTS_FILE, text)
}

async function cleanup (): Promise<void> {
  await stopDaemons().catch(() => {})
  for (const proc of children) if (isRunning(proc)) proc.kill('SIGKILL')
  if (workDir !== undefined && !workRemoved) {
    if (keepWork) {
      progress(`kept ${workDir}`)
    } else {
      await fs.rm(workDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {})
      workRemoved = true
    }
  }
}

function onSignal (signal: NodeJS.Signals): void {
  if (interrupted) return
  interrupted = true
  progress(`${signal}: killing every daemon and removing the temp dir...`)
  for (const proc of children) if (isRunning(proc)) proc.kill('SIGKILL')
  void cleanup().finally(() => { process.exit(signal === 'SIGINT' ? 130 : 143) })
}

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('SIGHUP', onSignal)
// last resort (uncaught exception, process.exit): nothing may outlive us
process.on('exit', () => {
  for (const proc of children) if (isRunning(proc)) proc.kill('SIGKILL')
  if (workDir !== undefined && !keepWork && !workRemoved && existsSync(workDir)) {
    try { rmSync(workDir, { recursive: true, force: true, maxRetries: 3 }) } catch { /* nothing more to do */ }
  }
})

async function main (): Promise<number> {
  const argv = process.argv.slice(2)
  let plan: Plan | 'help'
  try {
    plan = parsePlan(argv)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`)
    return 2
  }
  if (plan === 'help') {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run \`npm run build\` first`)
  keepWork = plan.keep
  const startedAt = new Date()
  const t0 = performance.now()
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-bench-'))
  await fs.mkdir(path.join(workDir, 'repos'))
  await fs.mkdir(path.join(workDir, 'logs'))
  progress(`${plan.quick ? 'quick' : 'full'} run; temp dir ${workDir}; ${machine()}`)

  let failures = 0
  for (const b of BENCHES) {
    if (!plan.only.has(b.n)) continue
    if (interrupted) break
    const started = performance.now()
    try {
      await b.run(plan)
      progress(`  (${b.name}: ${((performance.now() - started) / 1000).toFixed(0)} s)`)
    } catch (err) {
      if (interrupted) break
      failures++
      const message = errText(err)
      progress(`${b.n}. ${b.name} FAILED: ${message}`)
      rows.push({ bench: String(b.n), what: b.name, figure: `failed: ${message.split('\n')[0] ?? ''}`, baseline: '-', ratio: '-', target: '-', result: 'failed', runs: '-' })
      notes.push(`${b.n}. ${b.name} failed: ${message.replace(/\n\s*/g, ' / ')}`)
      if (keepWork) progress(`  daemon logs are in ${path.join(workDir, 'logs')}`)
    } finally {
      await stopDaemons().catch(() => {})
    }
  }
  if (interrupted) return 130

  process.stdout.write('\n' + textTable(HEADER, rows.map(rowCells)) + '\n')
  const missed = rows.filter(r => r.result === 'missed').map(r => `#${r.bench}`)
  process.stdout.write(`\ntargets: ${rows.filter(r => r.result === 'met').length} met, ${missed.length} missed${missed.length > 0 ? ` (${missed.join(', ')})` : ''}${failures > 0 ? `; ${failures} benchmark(s) failed` : ''}\n`)
  await writeResults(plan, argv, startedAt, (performance.now() - t0) / 1000)
  process.stdout.write(`written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}\n`)
  return failures > 0 ? 1 : 0
}

let code = 1
try {
  code = await main()
} catch (err) {
  if (!interrupted) progress(`error: ${errText(err)}`)
} finally {
  await cleanup()
}
if (!interrupted) process.exitCode = code
