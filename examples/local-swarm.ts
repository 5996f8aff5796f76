/**
 * A local swarm of real `shoal` daemons (separate processes, real CLI) on
 * 127.0.0.1: node 0 shares a random file, M other nodes fetch it at once by
 * bare content id (so providers are found through the DHT, and fetchers also
 * serve each other the chunks they already have). Prints per-node timing and
 * traffic, verifies every copy's SHA-256, then stops everything.
 *
 *   npm run demo
 *   npx tsx examples/local-swarm.ts --nodes 9 --fetchers 8 --size 64MiB
 *
 * Each daemon's stdout/stderr goes to <tmp>/nodeK.log, each fetch's NDJSON and
 * stderr to <tmp>/fetch-K.log, each node's final status to <tmp>/status-K.json;
 * --keep leaves the temp dir (repos, logs, copies) in place for a look afterwards.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { FetchEvent, ShareResult, StatusInfo } from '@shoal/protocol'
import { UsageError, asUsage, collect, describeExit, describeRun, indent, isRunning, lastJsonLine, within } from './support/cli-process.js'
import type { CliRun, Exit } from './support/cli-process.js'

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'packages', 'cli', 'dist', 'bin.js')
const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

const MAX_NODES = 64
/** A daemon that has not printed its ready event by then is a failure. */
const READY_TIMEOUT_MS = 30_000
/** A fetch still running after this is reported as hung and killed. */
const FETCH_TIMEOUT_MS = 60_000
/** share / status / stop. */
const CLI_TIMEOUT_MS = 30_000
/** After `shoal stop`, how long a daemon may take to exit before SIGTERM. */
const STOP_GRACE_MS = 10_000
/** After SIGTERM, how long before SIGKILL. */
const KILL_GRACE_MS = 5_000

const USAGE = `usage: npx tsx examples/local-swarm.ts [--nodes N] [--fetchers M] [--size SIZE] [--keep]

Starts N shoal daemons on 127.0.0.1 (node 0 seeds a random file, nodes 1..M
fetch it at once by content id through the DHT), verifies every copy and
prints per-node time, throughput and traffic.

  --nodes N      total daemons, 2..${MAX_NODES} (default 6)
  --fetchers M   how many nodes fetch, 1..N-1 (default N-1; the rest stay idle)
  --size SIZE    file size in bytes; suffixes K/KiB, M/MiB, G/GiB (x1024)
                 or KB, MB, GB (x1000) (default 32MiB)
  --keep         keep the temp dir (repos, daemon logs, copies)
  --help         show this help

Exit status: 0 when every copy verified, 1 otherwise, 2 on bad flags.`


interface Options {
  nodes: number
  fetchers: number
  size: number
  keep: boolean
}

function parseCount (flag: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a whole number, got '${text}'`)
  const n = Number(text.trim())
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} is too large: '${text}'`)
  return n
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  ki: KiB,
  kib: KiB,
  m: MiB,
  mi: MiB,
  mib: MiB,
  g: GiB,
  gi: GiB,
  gib: GiB,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9
}

function parseSize (text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = match === null ? undefined : SIZE_UNITS[(match[2] ?? '').toLowerCase()]
  if (match === null || unit === undefined) throw new UsageError(`--size must be a number of bytes with an optional K/KiB/M/MiB/G/GiB/KB/MB/GB suffix, got '${text}'`)
  const bytes = Number(match[1]) * unit
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`--size must come to a whole number of bytes, got '${text}' (${bytes})`)
  if (bytes < 1) throw new UsageError(`--size must be at least 1 byte, got '${text}'`)
  return bytes
}

function parseOptions (argv: string[]): Options | 'help' {
  const { values } = asUsage(() => parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      fetchers: { type: 'string' },
      size: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true,
    allowPositionals: false
  }))
  if (values.help === true) return 'help'
  const nodes = values.nodes === undefined ? 6 : parseCount('--nodes', values.nodes)
  if (nodes < 2 || nodes > MAX_NODES) throw new UsageError(`--nodes must be between 2 and ${MAX_NODES}, got ${nodes}`)
  const fetchers = values.fetchers === undefined ? nodes - 1 : parseCount('--fetchers', values.fetchers)
  if (fetchers < 1 || fetchers > nodes - 1) throw new UsageError(`--fetchers must be between 1 and --nodes minus 1 (${nodes - 1}), got ${fetchers}`)
  const size = values.size === undefined ? 32 * MiB : parseSize(values.size)
  return { nodes, fetchers, size, keep: values.keep === true }
}

// ---------------------------------------------------------------- formatting

function formatSize (bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(2)} GiB`
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`
  if (bytes >= KiB) return `${(bytes / KiB).toFixed(1)} KiB`
  return `${bytes} B`
}

function progress (line: string): void {
  process.stderr.write(`[swarm] ${line}\n`)
}

function table (header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => {
    const w = widths[i] ?? c.length
    return rightAligned[i] === true ? c.padStart(w) : c.padEnd(w)
  }).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

// ---------------------------------------------------------------- processes

/** Every child process still running, with a promise of its exit. */
const children = new Map<ChildProcess, Promise<Exit>>()

interface Launched {
  proc: ChildProcess & { stdout: Readable, stderr: Readable }
  exit: Promise<Exit>
}

/** `node <cli> ARGS` as a tracked child (killed on any error or Ctrl-C). */
function launch (args: string[]): Launched {
  if (interrupted) throw new Error('interrupted')
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exit = new Promise<Exit>(resolve => {
    proc.once('exit', (code, signal) => { resolve({ code, signal }) })
    // spawn failure: 'exit' may never come
    proc.once('error', () => { if (!isRunning(proc)) resolve({ code: proc.exitCode ?? -1, signal: proc.signalCode }) })
  })
  children.set(proc, exit)
  void exit.then(() => { children.delete(proc) })
  return { proc, exit }
}

/** Run the CLI to completion; killed with SIGKILL after `timeoutMs`. */
async function runCli (args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<CliRun> {
  return await collect(launch(args).proc, timeoutMs)
}

/** Run a CLI command with --json and return its (last) JSON line; throws on failure. */
async function cliJson<T> (args: string[]): Promise<T> {
  return lastJsonLine<T>(await runCli([...args, '--json']), args)
}

// ---------------------------------------------------------------- daemons

interface Daemon {
  index: number
  repo: string
  logFile: string
  proc: ChildProcess
  exit: Promise<Exit>
  /** Both output pipes drained into the log file and the log file closed. */
  logClosed: Promise<void>
  /** Last lines of output, for error messages. */
  recent: string[]
  peerId: string
  addrs: string[]
  /** Set before we stop it on purpose; an exit without it is a crash. */
  stopping: boolean
}

const daemons: Daemon[] = []
const crashes: string[] = []

function onLines (stream: Readable, onLine: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity })
  rl.on('line', onLine)
  return new Promise(resolve => { rl.once('close', () => { resolve() }) })
}

/** Start `shoal daemon` for node `index` and wait for its ready event. */
async function startDaemon (tmp: string, index: number, bootstrap?: string): Promise<Daemon> {
  const repo = path.join(tmp, `node${index}`)
  const logFile = path.join(tmp, `node${index}.log`)
  const args = ['daemon', '--repo', repo, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json',
    ...(bootstrap !== undefined ? ['--bootstrap', bootstrap] : [])]
  const { proc, exit } = launch(args)
  const log = createWriteStream(logFile)
  log.write(`$ shoal ${args.join(' ')}\n`)
  const recent: string[] = []
  const remember = (line: string): void => {
    recent.push(line)
    if (recent.length > 30) recent.shift()
  }
  let onReady: (event: { peerId: string, addrs: string[] }) => void = () => {}
  const stdoutDone = onLines(proc.stdout, line => {
    log.write(line + '\n')
    remember(line)
    let event: unknown
    try { event = JSON.parse(line) } catch { return } // not JSON: diagnostics
    const e = event as { event?: unknown, peerId?: unknown, addrs?: unknown }
    if (e.event === 'ready' && typeof e.peerId === 'string' && Array.isArray(e.addrs)) {
      onReady({ peerId: e.peerId, addrs: e.addrs.filter((a): a is string => typeof a === 'string') })
    }
  })
  const stderrDone = onLines(proc.stderr, line => {
    log.write('[stderr] ' + line + '\n')
    remember('[stderr] ' + line)
  })
  const logClosed = Promise.all([stdoutDone, stderrDone]).then(async () => {
    const e = await exit
    await new Promise<void>(resolve => { log.end(`[exited: ${describeExit(e)}]\n`, () => { resolve() }) })
  })
  const daemon: Daemon = { index, repo, logFile, proc, exit, logClosed, recent, peerId: '', addrs: [], stopping: false }
  daemons.push(daemon)

  const ready = new Promise<{ peerId: string, addrs: string[] }>((resolve, reject) => {
    onReady = resolve
    void exit.then(e => { reject(new Error(`node${index} exited (${describeExit(e)}) before it was ready; last output:\n${indent(recent.join('\n') || '(none)')}`)) })
  })
  const result = await within(ready, READY_TIMEOUT_MS)
  if (result === 'timeout') throw new Error(`node${index} printed no ready event in ${READY_TIMEOUT_MS / 1000} s (log: ${logFile})`)
  daemon.peerId = result.peerId
  daemon.addrs = result.addrs
  void exit.then(e => {
    if (daemon.stopping) return
    const msg = `node${index} exited unexpectedly (${describeExit(e)}); last output:\n${indent(recent.join('\n') || '(none)')}`
    crashes.push(msg)
    progress(msg)
  })
  return daemon
}

/** A multiaddr other nodes can bootstrap from (with /p2p/<peer id>). */
function dialAddr (d: Daemon): string {
  const addr = d.addrs.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? d.addrs[0]
  if (addr === undefined) throw new Error(`node${d.index} reported no listen addresses`)
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${d.peerId}`
}

// ---------------------------------------------------------------- cleanup

let tmpDir: string | undefined
let keepTmp = false
let tmpRemoved = false
let shuttingDown: Promise<void> | undefined

/** SIGTERM every child, then SIGKILL what is left after KILL_GRACE_MS. */
async function killAll (): Promise<void> {
  const alive = [...children].filter(([proc]) => isRunning(proc))
  if (alive.length === 0) return
  for (const [proc] of alive) proc.kill('SIGTERM')
  await within(Promise.all(alive.map(async ([, exit]) => await exit)), KILL_GRACE_MS)
  const stubborn = alive.filter(([proc]) => isRunning(proc))
  if (stubborn.length > 0) {
    progress(`${stubborn.length} process(es) ignored SIGTERM; sending SIGKILL`)
    for (const [proc] of stubborn) proc.kill('SIGKILL')
    await within(Promise.all(stubborn.map(async ([, exit]) => await exit)), KILL_GRACE_MS)
  }
}

/**
 * Stop every daemon (with `shoal stop` when `graceful`, else SIGTERM), kill
 * everything else, remove the temp dir unless --keep. Idempotent.
 */
async function shutdown (graceful: boolean): Promise<void> {
  shuttingDown ??= (async () => {
    const alive = daemons.filter(d => isRunning(d.proc))
    for (const d of daemons) d.stopping = true
    if (graceful && alive.length > 0) {
      progress(`stopping ${alive.length} daemon${alive.length === 1 ? '' : 's'}...`)
      await Promise.all(alive.map(async d => {
        const r = await runCli(['stop', '--repo', d.repo, '--json'], STOP_GRACE_MS).catch(() => undefined)
        if (r === undefined) return // interrupted meanwhile: killAll() below
        if (r.code !== 0 && isRunning(d.proc) && !interrupted) {
          progress(`node${d.index}: shoal stop failed (${describeRun(r)}): ${r.stderr.trim()}; sending SIGTERM`)
          d.proc.kill('SIGTERM')
        }
        const e = await within(d.exit, STOP_GRACE_MS)
        if (e === 'timeout') progress(`node${d.index} still running ${STOP_GRACE_MS / 1000} s after stop; killing it`)
        else if (e.code !== 0 && !interrupted) progress(`node${d.index} stopped with ${describeExit(e)} (log: ${d.logFile})`)
      }))
    } else if (alive.length > 0) {
      progress(`stopping ${alive.length} daemon${alive.length === 1 ? '' : 's'} (SIGTERM)...`)
    }
    await killAll()
    await within(Promise.all(daemons.map(async d => await d.logClosed)), 2_000)
    if (tmpDir !== undefined) {
      if (keepTmp) {
        progress(`kept ${tmpDir} (daemon logs: node*.log)`)
      } else {
        await fs.rm(tmpDir, { recursive: true, force: true, maxRetries: 3 })
        tmpRemoved = true
      }
    }
  })()
  await shuttingDown
}

let interrupted = false
let interruptedAt = 0
function onSignal (signal: NodeJS.Signals): void {
  if (!interrupted) {
    interrupted = true
    interruptedAt = performance.now()
    process.exitCode = signal === 'SIGINT' ? 130 : 143
    progress(`${signal}: stopping everything (Ctrl-C again to kill at once)...`)
    void shutdown(false).finally(() => { process.exit() })
    return
  }
  // npm and tsx relay the terminal's Ctrl-C, so one keypress can arrive more than once
  if (performance.now() - interruptedAt < 1_000) return
  progress('killing everything now')
  for (const proc of children.keys()) proc.kill('SIGKILL') // shutdown() then finishes at once
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
// last resort, e.g. after an uncaught exception: nothing may outlive us
process.on('exit', () => {
  for (const proc of children.keys()) if (isRunning(proc)) proc.kill('SIGKILL')
  if (tmpDir !== undefined && !keepTmp && !tmpRemoved && existsSync(tmpDir)) {
    try { rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 }) } catch { /* nothing more to do */ }
  }
})

// ---------------------------------------------------------------- the demo

/** Write `size` random bytes in 1 MiB pieces; returns their SHA-256. */
async function writeRandomFile (file: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  const handle = await fs.open(file, 'w')
  try {
    for (let written = 0; written < size;) {
      const piece = randomBytes(Math.min(MiB, size - written))
      hash.update(piece)
      await handle.write(piece, 0, piece.byteLength, written)
      written += piece.byteLength
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

async function sha256File (file: string): Promise<string | undefined> {
  try {
    const hash = createHash('sha256')
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
    return hash.digest('hex')
  } catch {
    return undefined
  }
}

interface FetchOutcome {
  node: Daemon
  out: string
  run: CliRun
  verified: boolean
}

async function fetchOne (node: Daemon, cid: string, out: string): Promise<FetchOutcome> {
  const run = await runCli(['fetch', cid, '--repo', node.repo, '-o', out, '--json'], FETCH_TIMEOUT_MS)
  if (interrupted) throw new Error('interrupted')
  // kept with --keep, next to the daemon logs
  await fs.writeFile(path.join(path.dirname(out), `fetch-${node.index}.log`),
    `$ shoal fetch ${cid} --repo ${node.repo} -o ${out} --json\n${run.stdout}[stderr]\n${run.stderr}[${describeRun(run)} after ${run.seconds.toFixed(2)} s]\n`)
  if (run.code !== 0) {
    const events = run.stdout.trim().split('\n').filter(l => l !== '')
    const last = events.at(-1)
    let detail = `node${node.index}: fetch failed (${describeRun(run)})`
    if (run.stderr.trim() !== '') detail += `; stderr:\n${indent(run.stderr)}`
    if (last !== undefined) detail += `\n    last event: ${last}`
    progress(detail)
  } else {
    const done = run.stdout.trim().split('\n').map(l => { try { return JSON.parse(l) as FetchEvent } catch { return undefined } }).find(e => e?.type === 'done')
    if (done === undefined) progress(`node${node.index}: fetch exited 0 without a done event`)
  }
  return { node, out, run, verified: false }
}

async function main (opts: Options): Promise<boolean> {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run \`npm run build\` first`)
  tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-swarm-'))
  const tmp = tmpDir
  progress(`temp dir ${tmp}${opts.keep ? ' (kept)' : ''}`)

  progress(`starting ${opts.nodes} daemons...`)
  const seeder = await startDaemon(tmp, 0)
  const bootstrap = dialAddr(seeder)
  const peers = await Promise.all(Array.from({ length: opts.nodes - 1 }, async (_, i) => await startDaemon(tmp, i + 1, bootstrap)))
  if (interrupted) throw new Error('interrupted')
  progress(`${opts.nodes} daemons ready; bootstrap ${bootstrap}`)
  // a node whose bootstrap dial failed is alone and cannot find anything: say so now, not 20 s later
  const lonely = (await Promise.all(peers.map(async d => {
    const s = await cliJson<StatusInfo>(['status', '--repo', d.repo]).catch(() => undefined)
    return s !== undefined && s.peers === 0 ? d : undefined
  }))).filter((d): d is Daemon => d !== undefined)
  if (lonely.length > 0) {
    progress(`WARNING: ${lonely.length} node(s) have no peers after bootstrap: ${lonely.map(d => `node${d.index}`).join(', ')} (see ${lonely.map(d => path.basename(d.logFile)).join(', ')}; use --keep)`)
  }

  const file = path.join(tmp, 'source.bin')
  progress(`writing ${formatSize(opts.size)} of random data...`)
  const sourceHash = await writeRandomFile(file, opts.size)
  if (interrupted) throw new Error('interrupted')
  progress(`sharing ${formatSize(opts.size)}...`)
  const shared = await cliJson<ShareResult>(['share', file, '--repo', seeder.repo])
  if (typeof shared.cid !== 'string') throw new Error(`shoal share printed no cid: ${JSON.stringify(shared)}`)
  progress(`content id ${shared.cid} (${shared.chunks} chunks)`)

  const fetchers = peers.slice(0, opts.fetchers)
  progress(`${fetchers.length} fetchers starting at once...`)
  const swarmStart = performance.now()
  const outcomes = await Promise.all(fetchers.map(async d => await fetchOne(d, shared.cid, path.join(tmp, `out-${d.index}.bin`))))
  const swarmSeconds = (performance.now() - swarmStart) / 1000
  if (interrupted) throw new Error('interrupted')
  const failed = outcomes.filter(o => o.run.code !== 0).length
  progress(`${fetchers.length} fetchers done in ${swarmSeconds.toFixed(2)} s${failed > 0 ? ` (${failed} failed)` : ''}`)

  progress('verifying copies...')
  await Promise.all(outcomes.map(async o => {
    const digest = o.run.code === 0 ? await sha256File(o.out) : undefined
    o.verified = digest === sourceHash
    if (o.run.code === 0 && !o.verified) progress(`node${o.node.index}: ${o.out} ${digest === undefined ? 'is missing' : `has SHA-256 ${digest}, expected ${sourceHash}`}`)
  }))

  if (interrupted) throw new Error('interrupted')
  const statuses = await Promise.all(daemons.map(async d => {
    try {
      const status = await cliJson<StatusInfo>(['status', '--repo', d.repo])
      await fs.writeFile(path.join(tmp, `status-${d.index}.json`), JSON.stringify(status, null, 2) + '\n')
      return status
    } catch (err) {
      if (!interrupted) progress(`node${d.index}: no status: ${err instanceof Error ? err.message : String(err)}`)
      return undefined
    }
  }))
  if (interrupted) throw new Error('interrupted')

  const byNode = new Map(outcomes.map(o => [o.node.index, o]))
  const mib = (n: number | undefined): string => n === undefined ? '?' : (n / MiB).toFixed(1)
  const rows = daemons.map((d, i) => {
    const o = byNode.get(d.index)
    const s = statuses[i]
    const role = d.index === 0 ? 'seeder' : o !== undefined ? 'fetcher' : 'idle'
    const time = o === undefined ? '-' : o.run.seconds.toFixed(2)
    const rate = o === undefined || o.run.code !== 0 ? '-' : (opts.size / o.run.seconds / 1e6).toFixed(1)
    const verified = o === undefined ? '-' : o.verified ? 'yes' : 'no'
    return [`node${d.index}`, role, time, rate, mib(s?.uploaded), mib(s?.downloaded), verified]
  })
  const header = ['node', 'role', 'time s', 'MB/s', 'uploaded MiB', 'downloaded MiB', 'verified']
  process.stdout.write(table(header, rows, [false, false, true, true, true, true, false]) + '\n\n')

  const verifiedCount = outcomes.filter(o => o.verified).length
  const seederUp = statuses[0]?.uploaded
  const totalUp = statuses.reduce((sum, s) => sum + (s?.uploaded ?? 0), 0)
  process.stdout.write(`file: ${formatSize(opts.size)} (${shared.chunks} chunks), ${opts.nodes} nodes, ${fetchers.length} fetchers\n`)
  process.stdout.write(`swarm phase: ${swarmSeconds.toFixed(2)} s wall, ${(opts.size * verifiedCount / swarmSeconds / 1e6).toFixed(1)} MB/s delivered in total\n`)
  process.stdout.write(seederUp === undefined
    ? 'seeder upload unknown (no status)\n'
    : `seeder uploaded ${(seederUp / opts.size).toFixed(2)}x the file; fetchers served each other ${mib(totalUp - seederUp)} MiB\n`)
  process.stdout.write(verifiedCount === fetchers.length
    ? `all ${fetchers.length} copies verified\n`
    : `${fetchers.length - verifiedCount} of ${fetchers.length} copies NOT verified\n`)
  if (crashes.length > 0) process.stdout.write(`${crashes.length} daemon(s) crashed (see above)\n`)
  return verifiedCount === fetchers.length && crashes.length === 0
}

let options: Options | 'help'
try {
  options = parseOptions(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError)) throw err
  process.stderr.write(`local-swarm: ${err.message} (--help for usage)\n`)
  process.exit(2)
}
if (options === 'help') {
  process.stdout.write(USAGE + '\n')
  process.exit(0)
}
keepTmp = options.keep

let ok = false
try {
  ok = await main(options)
} catch (err) {
  if (!interrupted) progress(`error: ${err instanceof Error ? err.message : String(err)}`)
} finally {
  await shutdown(!interrupted)
}
if (!interrupted) process.exitCode = ok ? 0 : 1
