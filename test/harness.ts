/**
 * End-to-end harness: real daemons and the real CLI as subprocesses, on
 * 127.0.0.1 with ephemeral ports, in temporary repos. Synchronises on
 * events (the daemon's "ready" line, process exit), never on sleeps.
 */
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const CLI = path.join(ROOT, 'packages/cli/dist/bin.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Run `shoal ARGS` and wait for it to exit. */
export async function shoal (args: string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<CliResult> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
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
  /** Resolves with the first --json event line from the daemon that matches. */
  waitForEvent(match: (event: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>
  /** Run the CLI against this daemon's repo. */
  cli(args: string[]): Promise<CliResult>
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

const running = new Set<Daemon>()

export interface DaemonPlacement {
  /** Run the daemon inside this network namespace (test/netns.ts). */
  netns?: string
  /** Listen address. @default '/ip4/127.0.0.1/tcp/0' */
  listen?: string
  /** Extra environment, e.g. DEBUG. */
  env?: NodeJS.ProcessEnv
}

/** Start `shoal daemon` in a fresh or given repo and wait for its ready event. */
export async function startDaemon (repo: string, extraArgs: string[] = [], placement: DaemonPlacement = {}): Promise<Daemon> {
  // mDNS off unless a test asks for it: parallel daemons must not find each other by accident
  const mdns = extraArgs.includes('--mdns') ? [] : ['--no-mdns']
  const args = [CLI, 'daemon', '--repo', repo, '--listen', placement.listen ?? '/ip4/127.0.0.1/tcp/0', ...mdns, '--json', ...extraArgs]
  // `ip netns exec` execs the command, so the child's pid is the daemon's
  const proc = placement.netns !== undefined
    ? spawn('ip', ['netns', 'exec', placement.netns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...placement.env } })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...placement.env } })
  let output = ''
  const events: Array<Record<string, unknown>> = []
  const waiters: Array<{ match: (e: Record<string, unknown>) => boolean, resolve: (e: Record<string, unknown>) => void }> = []
  const exited = new Promise<number | null>(resolve => { proc.once('exit', code => { resolve(code) }) })
  const ready = await new Promise<{ peerId: string, addrs: string[] }>((resolve, reject) => {
    let buffered = ''
    proc.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      buffered += chunk.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        try {
          const event = JSON.parse(line) as { event?: string, peerId: string, addrs: string[] }
          events.push(event as unknown as Record<string, unknown>)
          for (const w of [...waiters]) {
            if (w.match(event as unknown as Record<string, unknown>)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(event as unknown as Record<string, unknown>) }
          }
          if (event.event === 'ready') resolve(event)
        } catch { /* not a JSON line: diagnostics */ }
      }
    })
    proc.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
    void exited.then(code => { reject(new Error(`daemon exited with ${String(code)} before it was ready:\n${output}`)) })
  })
  const daemon: Daemon = {
    repo,
    peerId: ready.peerId,
    addrs: ready.addrs,
    proc,
    log: () => output,
    exited,
    waitForEvent: async (match) => {
      const seen = events.find(match)
      if (seen !== undefined) return seen
      return await new Promise(resolve => { waiters.push({ match, resolve }) })
    },
    cli: async (args) => await shoal([...args, '--repo', repo]),
    kill: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      const code = await exited
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

/** Write `size` pseudo-random bytes, streamed in 1 MiB pieces. */
export async function writeRandomFile (file: string, size: number, seed = 1): Promise<void> {
  const handle = await fs.open(file, 'w')
  try {
    let state = seed
    const block = Buffer.alloc(1024 * 1024)
    for (let written = 0; written < size;) {
      const n = Math.min(block.byteLength, size - written)
      // xorshift32: fast deterministic filler
      for (let i = 0; i < block.byteLength; i += 4) {
        state ^= state << 13; state ^= state >>> 17; state ^= state << 5
        block.writeUInt32LE(state >>> 0, i)
      }
      await handle.write(block, 0, n, written)
      written += n
    }
  } finally {
    await handle.close()
  }
}

export async function sha256File (file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Relative path → sha256 (files) or 'dir' for every entry below `root`. */
export async function treeDigest (root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  async function walk (dir: string, rel: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`
      const abs = path.join(dir, entry.name)
      if (entry.isDirectory()) { out[childRel] = 'dir'; await walk(abs, childRel) } else out[childRel] = await sha256File(abs)
    }
  }
  await walk(root, '')
  return out
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
