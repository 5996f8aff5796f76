import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES } from './constants.js'
import { ErrorCode, ShoalError } from './errors.js'

const encoder = new TextEncoder()

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
  if (encoder.encode(path).byteLength > MAX_PATH_BYTES) fail(`longer than ${MAX_PATH_BYTES} bytes`)
  if (path.includes('\0')) fail('contains NUL')
  if (path.includes('\\')) fail('contains a backslash')
  if (path.startsWith('/')) fail('absolute')
  for (const segment of path.split('/')) {
    if (segment === '') fail('empty segment')
    if (segment === '.' || segment === '..') fail(`"${segment}" segment`)
    if (encoder.encode(segment).byteLength > MAX_SEGMENT_BYTES) fail(`segment longer than ${MAX_SEGMENT_BYTES} bytes`)
  }
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
