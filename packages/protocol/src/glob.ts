/**
 * `--only` patterns: which files of a share a selective fetch takes. A
 * pattern is a relative path or a glob inside the share (`*` any characters
 * but `/`, `?` one of them, `**` as a whole segment any number of segments,
 * `[abc]` / `[!abc]` a class, `{a,b}` either); it selects the files it
 * matches and every file below a directory it matches.
 */
import { ErrorCode, ShoalError } from './errors.js'

/** Longest pattern accepted, in characters. */
export const MAX_GLOB_LENGTH = 4096

/**
 * Check and normalise one pattern: a leading `./` and a trailing `/` go.
 * Throws BAD_REQUEST for an empty or absolute pattern, a `..` segment, a
 * backslash or NUL.
 *
 * @example
 * ```ts
 * normalizeGlob('./videos/')   // 'videos'
 * normalizeGlob('../etc')      // throws BAD_REQUEST
 * ```
 */
export function normalizeGlob (pattern: string): string {
  const p = pattern.trim().replace(/^(\.\/)+/, '').replace(/\/+$/, '')
  const bad = (why: string): ShoalError => new ShoalError(ErrorCode.BAD_REQUEST, `--only ${JSON.stringify(pattern.slice(0, 200))}: ${why}`)
  if (p === '') throw bad('an empty pattern selects nothing')
  if (p.length > MAX_GLOB_LENGTH) throw bad(`longer than ${MAX_GLOB_LENGTH} characters`)
  if (p.startsWith('/')) throw bad('give a path inside the share, not an absolute path')
  if (/[\\\0]/.test(p)) throw bad('backslashes and NUL are not allowed')
  if (p.split('/').some(s => s === '..')) throw bad('".." is not allowed')
  return p
}

/**
 * The regular expression a normalised pattern stands for (whole path).
 *
 * @example
 * ```ts
 * globToRegExp('**\/*.mp4').test('a/b/c.mp4') // true
 * ```
 */
export function globToRegExp (pattern: string): RegExp {
  const segments = pattern.split('/')
  let out = ''
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1
    if (seg === '**') {
      // zero or more whole segments
      out += last ? '.*' : '(?:[^/]*/)*'
      return
    }
    out += segmentToRegExp(seg) + (last ? '' : '/')
  })
  return new RegExp(`^${out}$`)
}

function segmentToRegExp (seg: string): string {
  let out = ''
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string
    if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2)
      if (close < 0) { out += '\\['; continue }
      let body = seg.slice(i + 1, close)
      const negate = body.startsWith('!') || body.startsWith('^')
      if (negate) body = body.slice(1)
      out += `[${negate ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`
      i = close
    } else if (c === '{') {
      const close = seg.indexOf('}', i + 1)
      if (close < 0) { out += '\\{'; continue }
      out += `(?:${seg.slice(i + 1, close).split(',').map(segmentToRegExp).join('|')})`
      i = close
    } else out += c.replace(/[.+^$()|\\]/g, '\\$&')
  }
  return out
}

/** What a set of patterns selects in a share. */
export interface GlobSelection {
  /** Indexes (manifest order) of the files selected. */
  files: number[]
  /** Empty directories selected (they are created too). */
  dirs: string[]
  /** Patterns that matched nothing, as given. */
  unmatched: string[]
}

/**
 * The files (and empty directories) of a share that `patterns` select: a
 * file is selected when a pattern matches its path or one of its parent
 * directories.
 *
 * @example
 * ```ts
 * const { files, unmatched } = selectFiles(manifest.files, manifest.dirs, ['videos', '*.txt'])
 * ```
 */
export function selectFiles (files: ReadonlyArray<{ path: string }>, dirs: readonly string[], patterns: readonly string[]): GlobSelection {
  const compiled = patterns.map(p => ({ given: p, re: globToRegExp(normalizeGlob(p)), hits: 0 }))
  const matches = (path: string): boolean => {
    let hit = false
    for (const c of compiled) {
      if (selects(c.re, path)) { c.hits++; hit = true }
    }
    return hit
  }
  const chosen: number[] = []
  files.forEach((f, i) => { if (matches(f.path)) chosen.push(i) })
  const chosenDirs = dirs.filter(matches)
  return { files: chosen, dirs: chosenDirs, unmatched: compiled.filter(c => c.hits === 0).map(c => c.given) }
}

/** The path itself or one of its ancestors matches. */
function selects (re: RegExp, path: string): boolean {
  if (re.test(path)) return true
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) {
    if (re.test(path.slice(0, at))) return true
  }
  return false
}
