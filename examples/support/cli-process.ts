/**
 * Running `shoal` as child processes from scripts and tests (examples/,
 * bench/, test/harness.ts): where the built CLI is, spawning children that are
 * tracked so that nothing outlives the script, waiting with a deadline,
 * collecting a command's output, describing how a process ended, reading a
 * command's JSON answer, and telling a bad command line (UsageError) from
 * other failures. Long-running daemons: ./daemon-process.ts.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess, SpawnOptions } from 'node:child_process'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'

/** The repository's root directory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** The built CLI (`npm run build`), run as `node CLI ...` so that the child's pid is shoal's. */
export const CLI = path.join(ROOT, 'packages', 'cli', 'dist', 'bin.js')

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

export function describeExit (e: Exit): string {
  return e.signal !== null ? `signal ${e.signal}` : `exit code ${String(e.code)}`
}

export function isRunning (proc: ChildProcess): boolean {
  return proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null
}

/** Resolves with `p`'s value, or 'timeout' after `ms` (the timer never outlives `p`). */
export async function within<T> (p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<'timeout'>(resolve => { timer = setTimeout(() => { resolve('timeout') }, ms) })
  try {
    return await Promise.race([p, expired])
  } finally {
    clearTimeout(timer)
  }
}

export function indent (text: string, prefix = '    '): string {
  return text.trimEnd().split('\n').map(l => prefix + l).join('\n')
}

export interface CliRun extends Exit {
  stdout: string
  stderr: string
  /** Wall time from the start of `collect` to exit with output drained. */
  seconds: number
  timedOut: boolean
}

export function describeRun (r: CliRun): string {
  return r.timedOut ? `still running after ${r.seconds.toFixed(0)} s, killed` : describeExit(r)
}

/** Collect a just-spawned command's output until it ends; SIGKILL after `timeoutMs`. */
export async function collect (proc: ChildProcess & { stdout: Readable, stderr: Readable }, timeoutMs: number): Promise<CliRun> {
  const started = performance.now()
  let stdout = ''
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s })
  proc.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  const closed = new Promise<Exit>(resolve => {
    proc.once('close', (code, signal) => { resolve({ code, signal }) })
    proc.once('error', err => { stderr += `[spawn error] ${err.message}\n`; if (!isRunning(proc)) resolve({ code: -1, signal: null }) })
  })
  let timedOut = false
  let result = await within(closed, timeoutMs)
  if (result === 'timeout') {
    timedOut = true
    proc.kill('SIGKILL')
    result = await closed
  }
  return { code: result.code, signal: result.signal, stdout, stderr, seconds: (performance.now() - started) / 1000, timedOut }
}

// ---------------------------------------------------------------- tracked children

export type Piped = ChildProcess & { stdout: Readable, stderr: Readable }

/** Every child spawned with spawnTracked that has not exited yet, with its exit. */
const children = new Map<ChildProcess, Promise<Exit>>()
let refusal: string | undefined

/**
 * Spawn with stdout and stderr piped (stdin ignored) and track the child until
 * it exits, so that killChildren / terminateChildren can reach it. Throws
 * once refuseNewChildren has been called (after Ctrl-C nothing new starts).
 */
export function spawnTracked (command: string, args: string[], options: Omit<SpawnOptions, 'stdio'> = {}): { proc: Piped, exit: Promise<Exit> } {
  if (refusal !== undefined) throw new Error(refusal)
  const proc = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] }) as Piped
  const exit = new Promise<Exit>(resolve => {
    proc.once('exit', (code, signal) => { resolve({ code, signal }) })
    // spawn failure: 'exit' may never come
    proc.once('error', () => { if (!isRunning(proc)) resolve({ code: proc.exitCode ?? -1, signal: proc.signalCode }) })
  })
  children.set(proc, exit)
  void exit.then(() => { children.delete(proc) })
  return { proc, exit }
}

/** From now on spawnTracked throws `reason`. */
export function refuseNewChildren (reason = 'interrupted'): void {
  refusal = reason
}

/** SIGKILL every tracked child now (last resort: an exit handler, a second Ctrl-C). */
export function killChildren (): void {
  for (const proc of children.keys()) if (isRunning(proc)) proc.kill('SIGKILL')
}

/**
 * SIGTERM every tracked child, then SIGKILL what is still running after
 * `graceMs`; resolves with how many needed SIGKILL once they have exited (or
 * another `graceMs` has passed).
 */
export async function terminateChildren (graceMs: number): Promise<number> {
  const alive = [...children].filter(([proc]) => isRunning(proc))
  for (const [proc] of alive) proc.kill('SIGTERM')
  await within(Promise.all(alive.map(async ([, exit]) => await exit)), graceMs)
  const stubborn = alive.filter(([proc]) => isRunning(proc))
  for (const [proc] of stubborn) proc.kill('SIGKILL')
  await within(Promise.all(stubborn.map(async ([, exit]) => await exit)), graceMs)
  return stubborn.length
}

export interface RunOptions {
  /** SIGKILL after this long. @default 60_000 */
  timeoutMs?: number
  /** Added to this process's environment (an undefined value removes a variable). */
  env?: NodeJS.ProcessEnv
  cwd?: string
}

/** `node CLI ARGS` to completion, tracked; SIGKILL after the timeout. */
export async function runCli (args: string[], options: RunOptions = {}): Promise<CliRun> {
  const { proc } = spawnTracked(process.execPath, [CLI, ...args], {
    ...(options.env !== undefined ? { env: { ...process.env, ...options.env } } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {})
  })
  return await collect(proc, options.timeoutMs ?? 60_000)
}

/** `shoal ARGS --json`: its last JSON line; throws, with its output, when it failed. */
export async function cliJson<T> (args: string[], options: RunOptions = {}): Promise<T> {
  return lastJsonLine<T>(await runCli([...args, '--json'], options), args)
}

/** The last JSON line of a `--json` command's stdout; throws, with its output, when it failed. */
export function lastJsonLine<T> (r: CliRun, args: string[]): T {
  if (r.code !== 0) throw new Error(`shoal ${args.join(' ')} failed (${describeRun(r)}):\n${indent(r.stderr || r.stdout || '(no output)')}`)
  const last = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(last) as T
  } catch {
    throw new Error(`shoal ${args.join(' ')}: expected JSON on stdout, got:\n${indent(r.stdout || '(nothing)')}`)
  }
}

/** A bad command line of a script: print it with the usage and exit 2. */
export class UsageError extends Error {}

/** Run a parser (node:util parseArgs, say); whatever it throws becomes a UsageError. */
export function asUsage<T> (parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}
