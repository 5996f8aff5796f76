import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES } from './constants.js'
import { ErrorCode, ShoalError } from './errors.js'

/**
 * Check a manifest-relative path: POSIX separators, no absolute path, no
 * `.`/`..`/empty segments, no NUL or backslash, bounded length. Throws
 * INVALID_MANIFEST naming the problem.
 *
 * @example
 * ```ts
 * validateRelativePath('docs/readme.txt') // fine
 * validateRelativePath('../etc/passwd')    // throws ShoalError INVALID_MANIFEST
 * ```
 */
export function validateRelativePath (path: string): void {
  if (typeof path !== 'string') throw new ShoalError(ErrorCode.INVALID_MANIFEST, `invalid path: not a string (${typeof path})`)
  const fail = (why: string): never => {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `invalid path ${JSON.stringify(path.slice(0, 200))}: ${why}`)
  }
  if (path.length === 0) fail('empty')
  // (a manifest may list a million paths: no encoding, no splitting)
  if (path.length > MAX_PATH_BYTES || utf8Length(path, 0, path.length) > MAX_PATH_BYTES) fail(`longer than ${MAX_PATH_BYTES} bytes`)
  if (path.includes('\0')) fail('contains NUL')
  if (path.includes('\\')) fail('contains a backslash')
  if (path.startsWith('/')) fail('absolute')
  for (let start = 0; start <= path.length;) {
    const slash = path.indexOf('/', start)
    const end = slash < 0 ? path.length : slash
    const length = end - start
    if (length === 0) fail('empty segment')
    if (length <= 2 && path.charCodeAt(start) === DOT && (length === 1 || path.charCodeAt(start + 1) === DOT)) fail(`"${path.slice(start, end)}" segment`)
    // a UTF-16 unit is at most 3 bytes of UTF-8
    if (length * 3 > MAX_SEGMENT_BYTES && utf8Length(path, start, end) > MAX_SEGMENT_BYTES) fail(`segment longer than ${MAX_SEGMENT_BYTES} bytes`)
    start = end + 1
  }
}

const DOT = 0x2e

/** Bytes of `text.slice(from, to)` in UTF-8, as TextEncoder writes it (a lone surrogate as U+FFFD, 3 bytes). */
export function utf8Length (text: string, from = 0, to = text.length): number {
  let bytes = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { bytes += 4; i++ } else bytes += 3
  }
  return bytes
}

/**
 * Every proper ancestor of a relative path: `a/b/c` → `a`, `a/b`.
 *
 * @example
 * ```ts
 * ancestorsOf('a/b/c') // ['a', 'a/b']
 * ```
 */
export function ancestorsOf (path: string): string[] {
  const parts = path.split('/')
  const out: string[] = []
  for (let i = 1; i < parts.length; i++) {
    out.push(parts.slice(0, i).join('/'))
  }
  return out
}

/**
 * Canonical path order: JavaScript string comparison, i.e. by UTF-16 code
 * unit (not UTF-8 bytes; the two differ only for characters above U+FFFF vs
 * U+E000–U+FFFF). Part of the content id: other implementations must match it.
 *
 * @example
 * ```ts
 * ['b.txt', 'a/z.txt', 'a.txt'].sort(comparePaths) // ['a.txt', 'a/z.txt', 'b.txt']
 * ```
 */
export function comparePaths (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
