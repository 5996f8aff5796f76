/** Numbers as people read them. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

export function bytes (n: number): string {
  let v = n
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++ }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`
}

export function rate (n: number): string {
  return `${bytes(n)}/s`
}

export function duration (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—'
  const s = Math.round(seconds)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  const h = Math.floor(s / 3600)
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} d ${h % 24} h`
}

/** A peer id or content id shortened to its start and end. */
export function short (id: string, keep = 6): string {
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-keep)}`
}

export function basename (path: string): string {
  const parts = path.split('/').filter(p => p !== '')
  return parts[parts.length - 1] ?? path
}

export function percent (part: number, whole: number): string {
  return whole <= 0 ? '0%' : `${Math.floor((part / whole) * 1000) / 10}%`
}
