/**
 * Who may use the web UI (PROTOCOL.md, "Web UI"): a browser that was given
 * the repo's UI token once (`/?token=…`, the URL `shoal ui` prints) and
 * holds it since in an HttpOnly, SameSite=Strict cookie. Requests that
 * change anything must also come from one of this server's own origins
 * (`Origin`, and `Sec-Fetch-Site: same-origin` where the browser sends it)
 * with a JSON body: a page of another site cannot forge them even while the
 * cookie is set.
 */
import crypto from 'node:crypto'
import type http from 'node:http'

/** Why a request is refused, or undefined when it may go on. */
export type Refusal = string | undefined

/** The token check, cookie and origin rules of one UI. */
export class UiAuth {
  private readonly digest: Buffer

  /**
   * @param token - the repo's UI token
   * @param cookieName - this node's cookie: cookies are not kept apart by port, so two daemons on one host need different names
   */
  constructor (token: string, readonly cookieName: string) {
    this.digest = sha256(token)
  }

  /** True when `given` is the token (compared in constant time). */
  tokenMatches (given: string | null | undefined): boolean {
    if (given === null || given === undefined || given === '') return false
    return crypto.timingSafeEqual(sha256(given), this.digest)
  }

  /** True when the request carries the token in this UI's cookie. */
  hasCookie (req: http.IncomingMessage): boolean {
    return this.tokenMatches(cookiesOf(req.headers.cookie).get(this.cookieName))
  }

  /** The `Set-Cookie` value that stores `token`: HttpOnly, SameSite=Strict, for the whole server, until the browser closes. */
  setCookie (token: string): string {
    return `${this.cookieName}=${token}; Path=/; HttpOnly; SameSite=Strict`
  }

  /**
   * Why a UI API request must be refused: no token cookie; a request a
   * page of another site made (`Sec-Fetch-Site: cross-site` or
   * `same-site`); for anything but GET and HEAD, an `Origin` that is not
   * one of `ownOrigins` (or none), or a body that is not JSON.
   */
  refusal (req: http.IncomingMessage, ownOrigins: ReadonlySet<string>): Refusal {
    if (!this.hasCookie(req)) return 'no UI token: open the URL that `shoal ui` prints'
    const site = header(req, 'sec-fetch-site')
    const method = req.method ?? 'GET'
    if (method === 'GET' || method === 'HEAD') {
      if (site === 'cross-site' || site === 'same-site') return `a request from another site (Sec-Fetch-Site: ${site})`
      return undefined
    }
    const origin = header(req, 'origin')
    if (origin === undefined) return `${method} needs an Origin header`
    // the request's own Host passed the Host check (http-server.ts): its origin is this server
    const self = `http://${(header(req, 'host') ?? '').toLowerCase()}`
    if (!ownOrigins.has(origin.toLowerCase()) && origin.toLowerCase() !== self) return `${method} from another origin (${origin.slice(0, 100)})`
    if (site !== undefined && site !== 'same-origin') return `${method} from another site (Sec-Fetch-Site: ${site})`
    const hasBody = header(req, 'transfer-encoding') !== undefined || Number(header(req, 'content-length') ?? '0') > 0
    if (hasBody && !(header(req, 'content-type') ?? '').toLowerCase().startsWith('application/json')) return `${method} with a body that is not application/json`
    return undefined
  }
}

/** The cookie name of the node whose peer id is `peerId`. */
export function uiCookieName (peerId: string): string {
  return `shoal-ui-${peerId.slice(-10)}`
}

/** `Cookie` header to a name → value map (the first of a repeated name wins). */
export function cookiesOf (header: string | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq <= 0) continue
    const name = part.slice(0, eq).trim()
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim())
  }
  return out
}

function header (req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function sha256 (text: string): Buffer {
  return crypto.createHash('sha256').update(text).digest()
}
