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
import { existsSync, rmSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { FetchEvent, ShareResult, StatusInfo } from '@shoal/protocol'
import { CLI, UsageError, asUsage, cliJson, describeExit, describeRun, indent, isRunning, killChildren, refuseNewChildren, runCli, terminateChildren, within } from './support/cli-process.js'
import type { CliRun } from './support/cli-process.js'
import { startDaemon } from './support/daemon-process.js'
import type { DaemonProcess } from './support/daemon-process.js'
import { GiB, KiB, MiB, sha256File, writeRandomFile } from './support/files.js'

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

// ---------------------------------------------------------------- daemons

interface Node {
  index: number
  daemon: DaemonProcess
  /** Set before we stop it on purpose; an exit without it is a crash. */
  stopping: boolean
}

const nodes: Node[] = []
const crashes: string[] = []

/** Start `shoal daemon` for node `index` (log: <tmp>/nodeK.log) and wait for its ready event. */
async function startNode (tmp: string, index: number, bootstrap?: string): Promise<Node> {
  const daemon = await startDaemon({
    name: `node${index}`,
    repo: path.join(tmp, `node${index}`),
    logFile: path.join(tmp, `node${index}.log`),
    readyTimeoutMs: READY_TIMEOUT_MS,
    ...(bootstrap !== undefined ? { bootstrap: [bootstrap] } : {})
  })
  const node: Node = { index, daemon, stopping: false }
  nodes.push(node)
  void daemon.exited.then(e => {
    if (node.stopping) return
    const msg = `node${index} exited unexpectedly (${describeExit(e)}); last output:\n${indent(daemon.tail() || '(none)')}`
    crashes.push(msg)
    progress(msg)
  })
  return node
}

// ---------------------------------------------------------------- cleanup

let tmpDir: string | undefined
let keepTmp = false
let tmpRemoved = false
let shuttingDown: Promise<void> | undefined

/**
 * Stop every daemon (with `shoal stop` when `graceful`, else SIGTERM), kill
 * everything else, remove the temp dir unless --keep. Idempotent.
 */
async function shutdown (graceful: boolean): Promise<void> {
  shuttingDown ??= (async () => {
    const alive = nodes.filter(n => isRunning(n.daemon.proc))
    for (const n of nodes) n.stopping = true
    if (graceful && alive.length > 0) {
      progress(`stopping ${alive.length} daemon${alive.length === 1 ? '' : 's'}...`)
      await Promise.all(alive.map(async ({ index, daemon: d }) => {
        const r = await runCli(['stop', '--repo', d.repo, '--json'], { timeoutMs: STOP_GRACE_MS }).catch(() => undefined)
        if (r === undefined) return // interrupted meanwhile: terminateChildren() below
        if (r.code !== 0 && isRunning(d.proc) && !interrupted) {
          progress(`node${index}: shoal stop failed (${describeRun(r)}): ${r.stderr.trim()}; sending SIGTERM`)
          d.proc.kill('SIGTERM')
        }
        const e = await within(d.exited, STOP_GRACE_MS)
        if (e === 'timeout') progress(`node${index} still running ${STOP_GRACE_MS / 1000} s after stop; killing it`)
        else if (e.code !== 0 && !interrupted) progress(`node${index} stopped with ${describeExit(e)} (log: ${d.logFile ?? '-'})`)
      }))
    } else if (alive.length > 0) {
      progress(`stopping ${alive.length} daemon${alive.length === 1 ? '' : 's'} (SIGTERM)...`)
    }
    const stubborn = await terminateChildren(KILL_GRACE_MS)
    if (stubborn > 0) progress(`${stubborn} process(es) ignored SIGTERM; sent SIGKILL`)
    await within(Promise.all(nodes.map(async n => await n.daemon.drained)), 2_000)
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
    refuseNewChildren()
    interruptedAt = performance.now()
    process.exitCode = signal === 'SIGINT' ? 130 : 143
    progress(`${signal}: stopping everything (Ctrl-C again to kill at once)...`)
    void shutdown(false).finally(() => { process.exit() })
    return
  }
  // npm and tsx relay the terminal's Ctrl-C, so one keypress can arrive more than once
  if (performance.now() - interruptedAt < 1_000) return
  progress('killing everything now')
  killChildren() // shutdown() then finishes at once
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
// last resort, e.g. after an uncaught exception: nothing may outlive us
process.on('exit', () => {
  killChildren()
  if (tmpDir !== undefined && !keepTmp && !tmpRemoved && existsSync(tmpDir)) {
    try { rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 }) } catch { /* nothing more to do */ }
  }
})

// ---------------------------------------------------------------- the demo

interface FetchOutcome {
  node: Node
  out: string
  run: CliRun
  verified: boolean
}

async function fetchOne (node: Node, cid: string, out: string): Promise<FetchOutcome> {
  const repo = node.daemon.repo
  const run = await runCli(['fetch', cid, '--repo', repo, '-o', out, '--json'], { timeoutMs: FETCH_TIMEOUT_MS })
  if (interrupted) throw new Error('interrupted')
  // kept with --keep, next to the daemon logs
  await fs.writeFile(path.join(path.dirname(out), `fetch-${node.index}.log`),
    `$ shoal fetch ${cid} --repo ${repo} -o ${out} --json\n${run.stdout}[stderr]\n${run.stderr}[${describeRun(run)} after ${run.seconds.toFixed(2)} s]\n`)
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
  const seeder = await startNode(tmp, 0)
  const bootstrap = seeder.daemon.dialAddr()
  const peers = await Promise.all(Array.from({ length: opts.nodes - 1 }, async (_, i) => await startNode(tmp, i + 1, bootstrap)))
  if (interrupted) throw new Error('interrupted')
  progress(`${opts.nodes} daemons ready; bootstrap ${bootstrap}`)
  // a node whose bootstrap dial failed is alone and cannot find anything: say so now, not 20 s later
  const lonely = (await Promise.all(peers.map(async n => {
    const s = await cliJson<StatusInfo>(['status', '--repo', n.daemon.repo], { timeoutMs: CLI_TIMEOUT_MS }).catch(() => undefined)
    return s !== undefined && s.peers === 0 ? n : undefined
  }))).filter((n): n is Node => n !== undefined)
  if (lonely.length > 0) {
    progress(`WARNING: ${lonely.length} node(s) have no peers after bootstrap: ${lonely.map(d => `node${d.index}`).join(', ')} (see ${lonely.map(n => `node${n.index}.log`).join(', ')}; use --keep)`)
  }

  const file = path.join(tmp, 'source.bin')
  progress(`writing ${formatSize(opts.size)} of random data...`)
  const sourceHash = await writeRandomFile(file, opts.size)
  if (interrupted) throw new Error('interrupted')
  progress(`sharing ${formatSize(opts.size)}...`)
  const shared = await cliJson<ShareResult>(['share', file, '--repo', seeder.daemon.repo], { timeoutMs: CLI_TIMEOUT_MS })
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
    const digest = o.run.code === 0 ? await sha256File(o.out).catch(() => undefined) : undefined
    o.verified = digest === sourceHash
    if (o.run.code === 0 && !o.verified) progress(`node${o.node.index}: ${o.out} ${digest === undefined ? 'is missing' : `has SHA-256 ${digest}, expected ${sourceHash}`}`)
  }))

  if (interrupted) throw new Error('interrupted')
  const statuses = await Promise.all(nodes.map(async n => {
    try {
      const status = await cliJson<StatusInfo>(['status', '--repo', n.daemon.repo], { timeoutMs: CLI_TIMEOUT_MS })
      await fs.writeFile(path.join(tmp, `status-${n.index}.json`), JSON.stringify(status, null, 2) + '\n')
      return status
    } catch (err) {
      if (!interrupted) progress(`node${n.index}: no status: ${err instanceof Error ? err.message : String(err)}`)
      return undefined
    }
  }))
  if (interrupted) throw new Error('interrupted')

  const byNode = new Map(outcomes.map(o => [o.node.index, o]))
  const mib = (n: number | undefined): string => n === undefined ? '?' : (n / MiB).toFixed(1)
  const rows = nodes.map((d, i) => {
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
