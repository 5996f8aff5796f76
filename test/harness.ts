/**
 * End-to-end harness: real daemons and the real CLI as subprocesses, on
 * 127.0.0.1 with ephemeral ports, in temporary repos. Synchronises on
 * events (the daemon's "ready" line, process exit), never on sleeps.
 *
 * Starting processes, random files and hashes come from examples/support/,
 * which the benchmarks and the examples use too; this file adapts them to the
 * tests' shape (a Daemon with `cli()`, `stopAll()` after each file).
 */
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { runCli } from '../examples/support/cli-process.js'
import { startDaemon as startDaemonProcess } from '../examples/support/daemon-process.js'
import type { JsonEvent } from '../examples/support/daemon-process.js'

export { CLI, ROOT } from '../examples/support/cli-process.js'
export { sha256File, treeDigest, writeRandomFile } from '../examples/support/files.js'

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Run `shoal ARGS` and wait for it to exit. */
export async function shoal (args: string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<CliResult> {
  const r = await runCli(args, { timeoutMs: options.timeoutMs ?? 120_000, ...(options.env !== undefined ? { env: options.env } : {}) })
  return { code: r.code === null || r.code < 0 ? 1 : r.code, stdout: r.stdout, stderr: r.stderr }
}

export interface Daemon {
  repo: string
  peerId: string
  addrs: string[]
  proc: ChildProcess
  /** stdout+stderr so far, for failure messages. */
  log(): string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  /** Resolves with the first --json event line from the daemon that matches; rejects if it exits first. */
  waitForEvent(match: (event: JsonEvent) => boolean): Promise<JsonEvent>
  /** Run the CLI against this daemon's repo. */
  cli(args: string[]): Promise<CliResult>
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

const running = new Set<Daemon>()

export interface DaemonPlacement {
  /** Run the daemon inside this network namespace (test/netns.ts). */
  netns?: string
  /** Listen address; false: none on the command line (config.json decides). @default '/ip4/127.0.0.1/tcp/0' */
  listen?: string | false
  /** Extra environment, e.g. DEBUG. */
  env?: NodeJS.ProcessEnv
}

/** Start `shoal daemon` in a fresh or given repo and wait for its ready event. */
export async function startDaemon (repo: string, extraArgs: string[] = [], placement: DaemonPlacement = {}): Promise<Daemon> {
  // mDNS off unless a test asks for it: parallel daemons must not find each other by accident
  const p = await startDaemonProcess({
    repo,
    mdns: extraArgs.includes('--mdns'),
    args: extraArgs.filter(a => a !== '--mdns'),
    readyTimeoutMs: 60_000,
    ...placement
  })
  const daemon: Daemon = {
    repo,
    peerId: p.peerId,
    addrs: p.addrs,
    proc: p.proc,
    log: () => p.output(),
    exited: p.exited.then(e => e.code),
    waitForEvent: async (match) => await p.waitForEvent(match),
    cli: async (args) => await shoal([...args, '--repo', repo]),
    kill: async (signal = 'SIGTERM') => {
      const { code } = await p.kill(signal)
      running.delete(daemon)
      return code
    }
  }
  running.add(daemon)
  return daemon
}

/** Kill every daemon this file started (afterAll). */
export async function stopAll (): Promise<void> {
  await Promise.all([...running].map(async d => await d.kill('SIGKILL')))
}

/** A temporary directory removed by the returned cleanup. */
export async function tempDir (prefix = 'shoal-test-'): Promise<string> {
  return await fs.mkdtemp(path.join(os.tmpdir(), prefix))
}

/** Parse NDJSON output. */
export function ndjson (text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l) as Record<string, unknown>)
}

/** `shoal share PATH --json` on `d`; throws with its stderr unless it exits 0. */
export async function shareFile (d: Daemon, file: string): Promise<{ cid: string, ticket: string }> {
  const shared = await d.cli(['share', file, '--json'])
  if (shared.code !== 0) throw new Error(`shoal share ${file} exited ${shared.code}: ${shared.stderr}`)
  return JSON.parse(shared.stdout) as { cid: string, ticket: string }
}
