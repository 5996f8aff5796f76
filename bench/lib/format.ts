/** How the benchmarks print sizes, rates and times, and pick the better or worse run. */
import { GiB, KiB, MiB } from '../../examples/support/files.js'

export { GiB, KiB, MiB }

/** Progress goes to stderr; the table alone goes to stdout. */
export function progress (line: string): void {
  process.stderr.write(`[bench] ${line}\n`)
}

export function fmtSize (bytes: number): string {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`
  if (bytes >= MiB) return `${+(bytes / MiB).toFixed(1)} MiB`
  if (bytes >= KiB) return `${+(bytes / KiB).toFixed(1)} KiB`
  return `${bytes} B`
}

/** Decimal megabytes per second, as in shared/STACK.md. */
export function mbps (bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds
}

export function fmtRate (bytes: number, seconds: number): string {
  return `${mbps(bytes, seconds).toFixed(0)} MB/s`
}

export function fmtSec (s: number): string {
  return s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`
}

export function pct (x: number): string {
  return `${(x * 100).toFixed(0)}%`
}

export function fmtMiB (bytes: number): string {
  return `${(bytes / MiB).toFixed(0)} MiB`
}

export function errText (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export const best = (xs: number[]): number => Math.min(...xs)
export const worst = (xs: number[]): number => Math.max(...xs)
