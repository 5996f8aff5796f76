import { ErrorCode, ShoalError } from '@shoal/protocol'

/** A gateway path, `/shoal/<id>/<path…>`, checked and decoded. */
export interface GatewayPath {
  /** The content id or ticket. */
  id: string
  /** The path inside the share, decoded segments ('' for the root). */
  rel: string
  /** How many segments `rel` has. */
  depth: number
  /** The request path ended in `/` (a directory listing's own address). */
  trailingSlash: boolean
}

/**
 * Parse the raw request path after the route's prefix. Anything that could
 * step outside the share is BAD_REQUEST: a `.` or `..` segment (plain or
 * percent-encoded), an encoded `/`, a backslash, NUL, an empty segment, bad
 * percent-encoding. Only the share's own paths (manifest paths) can match.
 */
export function parseGatewayPath (raw: string, prefix: string): GatewayPath {
  const rest = raw.startsWith(prefix) ? raw.slice(prefix.length) : ''
  const trailingSlash = rest.endsWith('/')
  const parts = rest === '' ? [] : rest.replace(/\/$/, '').split('/')
  const segments: string[] = []
  for (const part of parts) {
    let seg: string
    try {
      seg = decodeURIComponent(part)
    } catch {
      throw bad('malformed percent-encoding')
    }
    if (seg === '') throw bad('empty path segment')
    if (seg === '.' || seg === '..') throw bad('"." and ".." are not allowed')
    if (/[/\\\0]/.test(seg)) throw bad('encoded "/", backslashes and NUL are not allowed')
    segments.push(seg)
  }
  const [id, ...inside] = segments
  if (id === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, 'name a content id: /shoal/<id>/<path>')
  return { id, rel: inside.join('/'), depth: inside.length, trailingSlash }
}

function bad (why: string): ShoalError {
  return new ShoalError(ErrorCode.BAD_REQUEST, `bad path: ${why}`)
}
