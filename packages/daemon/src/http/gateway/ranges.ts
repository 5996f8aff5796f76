/** What a `Range` header asks of a representation of `size` bytes. */
export type RangeRequest =
  /** No Range (or one to ignore): the whole file, 200. */
  | { kind: 'whole' }
  /** One satisfiable range: 206 with bytes `start` … `end − 1`. */
  | { kind: 'single', start: number, end: number }
  /** Syntactically valid, but nothing of the file: 416. */
  | { kind: 'unsatisfiable' }
  /** Not a valid `bytes=` range set: 400. */
  | { kind: 'malformed' }

/**
 * Parse a `Range` header (RFC 9110 14.2) for a file of `size` bytes. One
 * range: `a-b`, `a-`, `-n` (the last n bytes). Several ranges are answered
 * with the whole file (200), which the RFC allows; so is any range of an
 * empty file. A unit other than `bytes` is ignored (200).
 */
export function parseRange (header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' }
  const m = /^\s*([A-Za-z]+)\s*=\s*(.*)$/.exec(header)
  if (m === null) return { kind: 'malformed' }
  if ((m[1] as string).toLowerCase() !== 'bytes') return { kind: 'whole' }
  const specs = (m[2] as string).split(',').map(s => s.trim()).filter(s => s !== '')
  if (specs.length === 0) return { kind: 'malformed' }
  const parsed: Array<{ start: number, end: number } | null> = []
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec)
    if (r === null || (r[1] === '' && r[2] === '')) return { kind: 'malformed' }
    const first = r[1] === '' ? undefined : Number(r[1])
    const last = r[2] === '' ? undefined : Number(r[2])
    if ((first !== undefined && !Number.isSafeInteger(first)) || (last !== undefined && !Number.isSafeInteger(last))) return { kind: 'malformed' }
    if (first !== undefined && last !== undefined && last < first) return { kind: 'malformed' }
    if (first === undefined) {
      // suffix: the last `last` bytes
      parsed.push(last === 0 || size === 0 ? null : { start: Math.max(0, size - (last as number)), end: size })
    } else {
      parsed.push(first >= size ? null : { start: first, end: Math.min(size, (last ?? size - 1) + 1) })
    }
  }
  if (size === 0) return { kind: 'whole' }
  if (specs.length > 1) return parsed.some(p => p !== null) ? { kind: 'whole' } : { kind: 'unsatisfiable' }
  const only = parsed[0]
  return only === null || only === undefined ? { kind: 'unsatisfiable' } : { kind: 'single', ...only }
}
