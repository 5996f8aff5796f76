/**
 * Long-running children for scripts and tests (examples/, bench/,
 * test/harness.ts): `shoal daemon --json` started in its own repo and waited
 * on until its ready event, and any other child that prints JSON lines
 * (bench/raw-peer.ts). Output is kept (and written to a log file when asked);
 * JSON lines on stdout can be waited for, with a deadline, and a wait fails
 * as soon as the process has ended without the line. Synchronise on these
 * events, never on sleeps.
 */
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { CLI, describeExit, indent, isRunning, spawnTracked, within } from './cli-process.js'
import type { Exit } from './cli-process.js'

/** One JSON line from a child's stdout, such as `{"event":"ready",...}`. */
export type JsonEvent = Record<string, unknown>

/** How long a daemon may take to print its ready event. */
export const READY_TIMEOUT_MS = 30_000
/** After SIGTERM, how long `stop()` waits before SIGKILL. */
export const STOP_GRACE_MS = 10_000
/** How many lines of output `tail()` keeps for error messages. */
const TAIL_LINES = 40

export interface ProcessOptions {
  /** For messages. */
  name: string
  /** Run inside this network namespace (`ip netns exec` execs, so the pid stays the child's). */
  netns?: string
  /** Added to this process's environment, e.g. DEBUG. */
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Also write every output line here, stderr lines marked `[stderr]`. */
  logFile?: string
}

interface Waiter {
  match: (event: JsonEvent) => boolean
  resolve: (event: JsonEvent) => void
}

/** A tracked child whose JSON lines on stdout can be waited for. */
export class EventProcess {
  readonly name: string
  readonly proc: ChildProcess
  readonly logFile: string | undefined
  /** How it ended, once it has. */
  readonly exited: Promise<Exit>
  /** Every line of output read and the log file closed: no event can come any more. */
  readonly drained: Promise<void>
  private text = ''
  private readonly recent: string[] = []
  private readonly seen: JsonEvent[] = []
  private readonly waiters = new Set<Waiter>()
  private readonly log: WriteStream | undefined

  constructor (command: string, args: string[], options: ProcessOptions) {
    this.name = options.name
    this.logFile = options.logFile
    const [cmd, argv] = options.netns !== undefined ? ['ip', ['netns', 'exec', options.netns, command, ...args]] : [command, args]
    const { proc, exit } = spawnTracked(cmd, argv, {
      ...(options.env !== undefined ? { env: { ...process.env, ...options.env } } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {})
    })
    this.proc = proc
    this.exited = exit
    if (options.logFile !== undefined) {
      this.log = createWriteStream(options.logFile)
      this.log.write(`$ ${[cmd, ...argv].join(' ')}\n`)
    }
    proc.once('error', err => { this.remember(`[spawn error] ${err.message}`) })
    const stdout = lines(proc.stdout, line => {
      this.remember(line)
      let value: unknown
      try { value = JSON.parse(line) } catch { return } // not JSON: diagnostics
      if (typeof value !== 'object' || value === null) return
      const event = value as JsonEvent
      this.seen.push(event)
      for (const w of [...this.waiters]) {
        if (w.match(event)) { this.waiters.delete(w); w.resolve(event) }
      }
    })
    const stderr = lines(proc.stderr, line => { this.remember(line, '[stderr] ') })
    this.drained = Promise.all([stdout, stderr, exit]).then(async ([, , e]) => {
      const log = this.log
      if (log !== undefined) await new Promise<void>(resolve => { log.end(`[exited: ${describeExit(e)}]\n`, () => { resolve() }) })
    })
  }

  get pid (): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name} has no pid`)
    return this.proc.pid
  }

  /** Everything it printed so far, stdout and stderr. */
  output (): string {
    return this.text
  }

  /** The last lines of output, stderr marked, for error messages. */
  tail (): string {
    return this.recent.join('\n')
  }

  /** Every JSON line it printed so far. */
  events (): readonly JsonEvent[] {
    return this.seen
  }

  /**
   * The first JSON line, printed so far or later, that `match` accepts (it
   * sees each line once, in order, so it may count). Rejects when the process
   * has ended without it, or after `timeoutMs` (default: no limit).
   */
  async waitForEvent (match: (event: JsonEvent) => boolean, options: { timeoutMs?: number, what?: string } = {}): Promise<JsonEvent> {
    const what = options.what ?? 'the awaited event'
    const earlier = this.seen.find(match)
    if (earlier !== undefined) return earlier
    let waiter: Waiter | undefined
    const found = new Promise<JsonEvent>(resolve => { waiter = { match, resolve }; this.waiters.add(waiter) })
    const ended = this.drained.then(async () => await this.exited)
    const race = Promise.race([found.then(event => ({ event })), ended.then(exit => ({ exit }))])
    const result = options.timeoutMs === undefined ? await race : await within(race, options.timeoutMs)
    if (waiter !== undefined) this.waiters.delete(waiter)
    if (result === 'timeout') throw new Error(`${this.name}: no ${what} within ${(options.timeoutMs ?? 0) / 1000} s; last output:\n${indent(this.tail() || '(none)')}`)
    if ('exit' in result) throw new Error(`${this.name} exited (${describeExit(result.exit)}) before ${what}; last output:\n${indent(this.tail() || '(none)')}`)
    return result.event
  }

  /** Send `signal` (unless it has ended) and wait for the exit. */
  async kill (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (isRunning(this.proc)) this.proc.kill(signal)
    return await this.exited
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop (graceMs = STOP_GRACE_MS, onStubborn?: (name: string) => void): Promise<Exit> {
    if (isRunning(this.proc)) this.proc.kill('SIGTERM')
    const e = await within(this.exited, graceMs)
    if (e !== 'timeout') return e
    onStubborn?.(this.name)
    return await this.kill('SIGKILL')
  }

  private remember (line: string, prefix = ''): void {
    this.text += line + '\n'
    if (this.log !== undefined && !this.log.writableEnded) this.log.write(prefix + line + '\n')
    this.recent.push(prefix + line)
    if (this.recent.length > TAIL_LINES) this.recent.shift()
  }
}

function lines (stream: Readable, onLine: (line: string) => void): Promise<void> {
  const rl = createInterface({ input: stream, crlfDelay: Infinity })
  rl.on('line', onLine)
  return new Promise(resolve => { rl.once('close', () => { resolve() }) })
}

export interface DaemonOptions extends Partial<ProcessOptions> {
  repo: string
  /** `--listen`; false: no flag, the repo's config.json decides. @default '/ip4/127.0.0.1/tcp/0' */
  listen?: string | false
  /** `--mdns`, or `--no-mdns` so that daemons on one host never find each other by accident. @default false */
  mdns?: boolean
  /** `--bootstrap` addresses. */
  bootstrap?: string[]
  /** More flags, after the ones above. */
  args?: string[]
  /** @default READY_TIMEOUT_MS */
  readyTimeoutMs?: number
}

/** A running `shoal daemon --json` that has printed its ready event. */
export class DaemonProcess extends EventProcess {
  readonly repo: string
  peerId = ''
  addrs: string[] = []

  constructor (options: DaemonOptions) {
    const args = [CLI, 'daemon', '--repo', options.repo,
      ...(options.listen === false ? [] : ['--listen', options.listen ?? '/ip4/127.0.0.1/tcp/0']),
      options.mdns === true ? '--mdns' : '--no-mdns', '--json',
      ...(options.bootstrap ?? []).flatMap(b => ['--bootstrap', b]), ...(options.args ?? [])]
    super(process.execPath, args, { ...options, name: options.name ?? path.basename(options.repo) })
    this.repo = options.repo
  }

  /** A multiaddr other daemons can dial (127.0.0.1 when it listens there), with /p2p/<peer id>. */
  dialAddr (): string {
    const addr = this.addrs.find(a => a.startsWith('/ip4/127.0.0.1/')) ?? this.addrs[0]
    if (addr === undefined) throw new Error(`${this.name} announced no listen address`)
    return addr.includes('/p2p/') ? addr : `${addr}/p2p/${this.peerId}`
  }
}

/** Start `shoal daemon --json` and wait for its ready event; killed if it never comes. */
export async function startDaemon (options: DaemonOptions): Promise<DaemonProcess> {
  const daemon = new DaemonProcess(options)
  try {
    const ready = await daemon.waitForEvent(e => e.event === 'ready', { timeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS, what: 'ready event' })
    if (typeof ready.peerId !== 'string' || !Array.isArray(ready.addrs)) throw new Error(`${daemon.name}: ready event without peer id or addresses: ${JSON.stringify(ready)}`)
    daemon.peerId = ready.peerId
    daemon.addrs = ready.addrs.filter((a): a is string => typeof a === 'string')
    return daemon
  } catch (err) {
    await daemon.kill('SIGKILL')
    throw err
  }
}
