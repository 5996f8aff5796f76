import type http from 'node:http'

/**
 * True when a browser sent the request on behalf of another site's page
 * (an `<img>`, `<video>`, `fetch` from a page that is not this gateway):
 * `Sec-Fetch-Site: cross-site`, or, from a browser that does not send
 * Fetch Metadata, an `Origin` (or `Referer`) naming another origin. Requests
 * without these headers (curl, media players, a typed URL) are not.
 */
export function isCrossSite (req: http.IncomingMessage, ownOrigins: ReadonlySet<string>): boolean {
  const site = header(req, 'sec-fetch-site')
  if (site !== undefined) return site === 'cross-site'
  const origin = header(req, 'origin') ?? originOf(header(req, 'referer'))
  if (origin === undefined) return false
  return origin === 'null' || !ownOrigins.has(origin.toLowerCase())
}

function header (req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function originOf (url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  try {
    return new URL(url).origin
  } catch {
    return 'null'
  }
}
