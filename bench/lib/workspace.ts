/**
 * The bench's temp dir (daemon repos, logs, each benchmark's files) and the
 * interrupted flag: after Ctrl-C no benchmark goes on and no process starts.
 */
import { existsSync, rmSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { refuseNewChildren } from '../../examples/support/cli-process.js'

let workDir: string | undefined
let removed = false
let interrupted = false

export async function openWorkDir (): Promise<string> {
  workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-bench-'))
  await fs.mkdir(path.join(workDir, 'repos'))
  await fs.mkdir(path.join(workDir, 'logs'))
  return workDir
}

export function work (): string {
  if (workDir === undefined) throw new Error('no work dir')
  return workDir
}

/** A fresh folder for one benchmark's files. */
export async function benchDir (name: string): Promise<string> {
  const dir = path.join(work(), name)
  await fs.mkdir(dir, { recursive: true })
  return dir
}

/** Remove the temp dir (once). */
export async function removeWorkDir (): Promise<void> {
  if (workDir === undefined || removed) return
  await fs.rm(workDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {})
  removed = true
}

/** The same, synchronously, for an exit handler. */
export function removeWorkDirSync (): void {
  if (workDir === undefined || removed || !existsSync(workDir)) return
  try { rmSync(workDir, { recursive: true, force: true, maxRetries: 3 }) } catch { /* nothing more to do */ }
}

export function workDirPath (): string | undefined {
  return workDir
}

export function interrupt (): void {
  interrupted = true
  refuseNewChildren()
}

export function isInterrupted (): boolean {
  return interrupted
}

export function checkInterrupted (): void {
  if (interrupted) throw new Error('interrupted')
}
