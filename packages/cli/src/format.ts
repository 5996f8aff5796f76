/** Human-readable sizes, rates, durations and progress lines: pure functions, no I/O. */
import type { Paint } from './colour.js'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** `0 B`, `1023 B`, `1.0 KiB`, `12.5 MiB`, `286 MiB`: one decimal below 100, none above. */
export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes)) return '-- B'
  const sign = bytes < 0 ? '-' : ''
  let value = Math.abs(bytes)
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++ }
  if (unit === 0) return `${sign}${Math.round(value)} B`
  let text = value.toFixed(value >= 100 ? 0 : 1)
  // rounding can reach the next unit (1023.96 KiB) or the next precision (99.96 KiB)
  if (Number(text) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
    text = value.toFixed(1)
  } else if (value < 100 && Number(text) >= 100) {
    text = value.toFixed(0)
  }
  return `${sign}${text} ${UNITS[unit] ?? ''}`
}

/** `1 file`, `2 files`; `plural(3, 'entry', 'entries')`. */
export function plural (n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`
}

/** `250 ms`, `4.2 s`, `3m07s`, `2h05m`; `--` when unknown. */
export function formatDuration (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--'
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 59.95) return `${seconds.toFixed(1)} s`
  const total = Math.round(seconds)
  const m = Math.floor(total / 60)
  const s = total % 60
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`
  const minutes = Math.round(seconds / 60)
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}

/** `[#####...]` for a fraction in 0..1. */
export function bar (fraction: number, width = 24): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
  const filled = Math.round(f * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

/**
 * Colour the first {@link bar} in `line`: done part cyan, the rest dim. Apply
 * it last, to a line already cut to width: the escapes take no columns.
 */
export function paintBar (line: string, paint: Paint): string {
  return line.replace(/\[(#*)(\.*)\]/, (_all, done: string, todo: string) => `[${paint('cyan', done)}${paint('dim', todo)}]`)
}

function percent (fraction: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
  return `${String(Math.floor(f * 100)).padStart(3)}%`
}

/** A one-line progress bar: `[#####.....]  42%  12.0 MiB/40.0 MiB  80.1 MiB/s  2 peers  ETA 0.4 s`. */
export function progressLine (received: number, size: number, rate: number, peers: number, width = 24): string {
  const fraction = size === 0 ? 1 : received / size
  const head = `${bar(fraction, width)} ${percent(fraction)}  ${formatBytes(received)}/${formatBytes(size)}`
  // complete: rate, peers and ETA say nothing any more (the summary line has the figures)
  if (received >= size) return head
  const eta = rate > 0 ? formatDuration((size - received) / rate) : '--'
  return `${head}  ${formatRate(rate)}  ${peers} peer${peers === 1 ? '' : 's'}  ETA ${eta}`
}

/** Hashing progress of `shoal share`: `hashing [#####.....]  42%  12.0 MiB/40.0 MiB`. */
export function hashingLine (hashed: number, total: number, width = 24): string {
  const fraction = total === 0 ? 1 : hashed / total
  return `hashing ${bar(fraction, width)} ${percent(fraction)}  ${formatBytes(hashed)}/${formatBytes(total)}`
}

/** Inputs at least this big show hashing progress on a terminal; smaller ones hash in a blink. */
export const HASH_PROGRESS_MIN_BYTES = 8 * 1024 * 1024

/** True when hashing `totalBytes` is worth a progress line. */
export function showsHashing (totalBytes: number): boolean {
  return totalBytes >= HASH_PROGRESS_MIN_BYTES
}

/** Cut a status line to fit a terminal of `columns` (one short, so it never wraps). */
export function fitToWidth (line: string, columns: number | undefined): string {
  if (columns === undefined || !Number.isFinite(columns) || columns <= 1) return line
  return line.length < columns ? line : line.slice(0, columns - 1)
}
