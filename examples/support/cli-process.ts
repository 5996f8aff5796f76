/**
 * Running `shoal` as child processes from scripts (examples/local-swarm.ts,
 * bench/run.ts): waiting with a deadline, collecting a command's output,
 * describing how a process ended, reading a command's JSON answer, and
 * telling a bad command line (UsageError) from other failures.
 */
import type { ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'

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
