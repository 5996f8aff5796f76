/** Human-readable sizes, rates and durations. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function formatBytes (bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit] ?? ''}`
}

export function formatRate (bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`
}

export function formatDuration (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--'
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const m = Math.floor(seconds / 60)
  const s = Math.round(seconds % 60)
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
}

/** A one-line progress bar: `[#####.....]  42%  12.0 MiB/40.0 MiB  80.1 MiB/s  2 peers  ETA 0.4 s`. */
export function progressLine (received: number, size: number, rate: number, peers: number, width = 24): string {
  const fraction = size === 0 ? 1 : Math.min(1, received / size)
  const filled = Math.round(fraction * width)
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled)
  const eta = rate > 0 ? formatDuration((size - received) / rate) : '--'
  return `[${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(received)}/${formatBytes(size)}  ${formatRate(rate)}  ${peers} peer${peers === 1 ? '' : 's'}  ETA ${eta}`
}
