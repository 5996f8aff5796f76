/**
 * What a running process, or the whole machine, has used so far: CPU time
 * from /proc/<pid>/stat and /proc/stat, peak resident set from
 * /proc/<pid>/status. Linux only.
 */
import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import { KiB } from './format.js'

/** USER_HZ, the unit of the CPU times in /proc (`getconf CLK_TCK`; 100 where it cannot be asked). */
export const CLOCK_TICKS = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isInteger(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
})()

/** Peak resident set (VmHWM) of a running process, in bytes. */
export async function peakRss (pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/status`, 'utf8')
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text)
  if (m === null || m[1] === undefined) throw new Error(`no VmHWM in /proc/${pid}/status`)
  return Number(m[1]) * KiB
}

/** CPU seconds (user + system, all threads) a running process has used so far. */
export async function cpuSeconds (pid: number): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/stat`, 'utf8')
  // fields after the ")" that closes the command name: state is field 3, utime 14, stime 15
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  if (!Number.isFinite(ticks)) throw new Error(`cannot read CPU time from /proc/${pid}/stat`)
  return ticks / CLOCK_TICKS
}

/** Busy and total CPU time of the whole machine so far (from /proc/stat), in seconds. */
export async function machineCpu (): Promise<{ busy: number, total: number }> {
  const first = (await fs.readFile('/proc/stat', 'utf8')).split('\n')[0] ?? ''
  const v = first.trim().split(/\s+/).slice(1).map(Number)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (v[3] ?? 0) + (v[4] ?? 0)
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS }
}

/** Cores' worth of the machine that was busy between two machineCpu() samples. */
export function busyCores (a: { busy: number, total: number }, b: { busy: number, total: number }): number {
  return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) * os.cpus().length : 0
}
