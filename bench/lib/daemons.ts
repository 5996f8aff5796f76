/**
 * The daemons of the benchmark now running (stopped after each benchmark),
 * and the CLI commands the benchmarks time against them: share, status,
 * fetch. Each daemon gets its own repo and log under the temp dir.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import type { FetchEvent, ShareResult, StatusInfo } from '@shoal/protocol'
import { ROOT, describeRun, indent, lastJsonLine, runCli as runShoal } from '../../examples/support/cli-process.js'
import type { CliRun } from '../../examples/support/cli-process.js'
import { STOP_GRACE_MS, startDaemon as startDaemonProcess } from '../../examples/support/daemon-process.js'
import type { DaemonProcess } from '../../examples/support/daemon-process.js'
import { sha256File } from '../../examples/support/files.js'
import { progress } from './format.js'
import { work } from './workspace.js'

export type { DaemonProcess }

const CLI_TIMEOUT_MS = 60_000

/** Daemons of the benchmark now running. */
const daemons = new Set<DaemonProcess>()
let started = 0

/** A name made unique with a number, and its log file in the temp dir. */
export function uniqueName (name: string): { id: string, logFile: string } {
  const id = `${name}-${++started}`
  return { id, logFile: path.join(work(), 'logs', `${id}.log`) }
}

export interface Placement {
  /** `--mdns` instead of `--no-mdns`. */
  mdns?: boolean
  /** Run inside this network namespace (test/netns.ts), listening on `listen`. */
  netns?: string
  listen?: string
  /** More `shoal daemon` flags (e.g. `--gateway 127.0.0.1:0`). */
  args?: string[]
}

/** `shoal daemon` in a new repo, bootstrapped to `bootstrap`; resolves once it is ready. */
export async function startDaemon (name: string, bootstrap: string[] = [], placement: Placement = {}): Promise<DaemonProcess> {
  const { id, logFile } = uniqueName(name)
  const d = await startDaemonProcess({
    name: id,
    repo: path.join(work(), 'repos', id),
    logFile,
    cwd: ROOT,
    bootstrap,
    ...placement
  })
  daemons.add(d)
  return d
}

/** SIGTERM, SIGKILL after the grace period. */
export async function stopDaemon (d: DaemonProcess): Promise<void> {
  await d.stop(STOP_GRACE_MS, name => { progress(`${name} still running ${STOP_GRACE_MS / 1000} s after SIGTERM; killing it`) })
  daemons.delete(d)
}

export async function stopDaemons (): Promise<void> {
  await Promise.all([...daemons].map(stopDaemon))
}

/** `node <cli> ARGS` to completion; SIGKILL after `timeoutMs`. */
export async function runCli (args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<CliRun> {
  return await runShoal(args, { timeoutMs, cwd: ROOT })
}

/** `shoal ARGS --json`; the last JSON line of stdout, with the wall time. */
export async function cliJsonTimed<T> (args: string[], timeoutMs = CLI_TIMEOUT_MS): Promise<{ value: T, seconds: number }> {
  const r = await runCli([...args, '--json'], timeoutMs)
  return { value: lastJsonLine<T>(r, args), seconds: r.seconds }
}

export async function share (d: DaemonProcess, file: string): Promise<{ result: ShareResult, seconds: number }> {
  const { value, seconds } = await cliJsonTimed<ShareResult>(['share', file, '--repo', d.repo], 10 * 60_000)
  if (typeof value.cid !== 'string' || typeof value.ticket !== 'string') throw new Error(`shoal share printed no cid/ticket: ${JSON.stringify(value)}`)
  return { result: value, seconds }
}

export async function status (d: DaemonProcess): Promise<StatusInfo> {
  return (await cliJsonTimed<StatusInfo>(['status', '--repo', d.repo])).value
}

export interface Fetched {
  /** CLI wall time, spawn to exit. */
  wall: number
  /** The daemon's own figure from the final {"type":"done"} event. */
  seconds: number
}

/** `shoal fetch ID -o OUT --json [extra]` on `d`; throws unless it exits 0 with a done event. */
export async function fetchTimed (d: DaemonProcess, id: string, out: string, size: number, extra: string[] = []): Promise<Fetched> {
  const timeoutMs = 60_000 + size / 5e6 * 1000 // 5 MB/s is far below anything sane
  const r = await runCli(['fetch', id, '--repo', d.repo, '-o', out, '--json', ...extra], timeoutMs)
  const events = r.stdout.trim().split('\n').filter(l => l !== '').map(l => { try { return JSON.parse(l) as FetchEvent } catch { return undefined } })
  const done = events.find((e): e is Extract<FetchEvent, { type: 'done' }> => e?.type === 'done')
  if (r.code !== 0 || done === undefined) {
    const last = r.stdout.trim().split('\n').pop()
    throw new Error(`${d.name}: fetch ${id.slice(0, 24)}... failed (${describeRun(r)})` +
      (r.stderr.trim() !== '' ? `; stderr:\n${indent(r.stderr)}` : '') +
      (last !== undefined && last !== '' ? `\n    last event: ${last}` : '') +
      `\n    daemon log: ${d.logFile ?? '-'}`)
  }
  return { wall: r.seconds, seconds: done.seconds }
}

export async function verifyFile (file: string, expected: string): Promise<void> {
  const hex = await sha256File(file)
  if (hex !== expected) throw new Error(`${file}: SHA-256 ${hex}, expected ${expected}`)
}

/**
 * The single-source baseline: a fresh seeder shares `src`, a fresh fetcher
 * bootstrapped to it fetches the bare content id to `out`; the copy is
 * checked against `hash` and removed, both daemons stopped.
 */
export async function fetchFromOneSeeder (seederName: string, fetcherName: string, src: string, hash: string, out: string, size: number): Promise<Fetched> {
  const seeder = await startDaemon(seederName)
  const { result } = await share(seeder, src)
  const fetcher = await startDaemon(fetcherName, [seeder.dialAddr()])
  const f = await fetchTimed(fetcher, result.cid, out, size)
  await verifyFile(out, hash)
  await fs.rm(out, { force: true })
  await stopDaemons()
  return f
}
