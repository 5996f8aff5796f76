import { ErrorCode, ShoalError } from './errors.js'

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3
}

/** The largest rate accepted: 1 TB/s. */
const MAX_RATE = 1e12
/** The smallest non-zero rate accepted: 1 KiB/s (a chunk must pass in hours, not years). */
const MIN_RATE = 1024

/**
 * Parse a transfer rate into bytes per second. Accepts a number of bytes per
 * second or a string such as `"10MiB/s"`, `"800KB/s"`, `"1.5M"`, `"250k"`
 * (k/M/G are powers of 1000, Ki/Mi/Gi powers of 1024, the `/s` is
 * optional). `0`, `"0"`, `"none"` and `"unlimited"` mean no limit and parse to
 * 0. Throws BAD_REQUEST naming the input otherwise.
 *
 * @example
 * ```ts
 * parseRate('10MiB/s') // 10485760
 * parseRate('500k')    // 500000
 * parseRate('unlimited') // 0
 * ```
 */
export function parseRate (input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && (input === 0 || (input >= MIN_RATE && input <= MAX_RATE))) return Math.floor(input)
    throw new ShoalError(ErrorCode.BAD_REQUEST, `invalid rate ${input}: expected 0 (no limit) or bytes per second from ${MIN_RATE} to ${MAX_RATE}`)
  }
  const text = input.trim().toLowerCase()
  if (text === 'none' || text === 'unlimited') return 0
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?(?:\/s|ps)?$/.exec(text)
  const unit = UNITS[match?.[2] ?? '']
  if (match === null || unit === undefined) {
    throw new ShoalError(ErrorCode.BAD_REQUEST, `invalid rate "${input}": expected e.g. 10MiB/s, 800KB/s, 1.5M or a number of bytes per second (0 = unlimited)`)
  }
  const exact = Number(match[1]) * unit
  const value = Math.floor(exact)
  if (value > MAX_RATE) throw new ShoalError(ErrorCode.BAD_REQUEST, `invalid rate "${input}": more than 1 TB/s`)
  if (exact > 0 && value < MIN_RATE) throw new ShoalError(ErrorCode.BAD_REQUEST, `invalid rate "${input}": less than 1 KiB/s (use 0 for no limit)`)
  return value
}

/**
 * True when `value` is something {@link parseRate} accepts.
 *
 * @example
 * ```ts
 * isRate('10MiB/s') // true
 * isRate('fast')    // false
 * ```
 */
export function isRate (value: unknown): boolean {
  if (typeof value !== 'string' && typeof value !== 'number') return false
  try {
    parseRate(value)
    return true
  } catch {
    return false
  }
}
