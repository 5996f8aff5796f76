/**
 * The daemon's local HTTP server (`node:http`): one listening socket on
 * HOST:PORT, a `Host` check against DNS rebinding (host-check.ts), and a
 * small router by path prefix. Routes plug in as {@link HttpRoute}s: the
 * /shoal/ gateway (gateway/), the web UI at / and /ui/ (ui/), later /ipfs/. Read-only
 * routes declare GET and HEAD; anything else is 405. Errors are one line of
 * text with their status.
 */
import http from 'node:http'
import net from 'node:net'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { bindFailure, parseHostPort } from '../host-port.js'
import { hostAllowed } from './host-check.js'

/** One route: a path prefix and what serves it. */
export interface HttpRoute {
  /** Path prefix, e.g. `/shoal/`; the prefix without its trailing slash matches too. */
  prefix: string
  /** Match the path `prefix` only, not what is below it (the web UI's `/`). @default false */
  exact?: boolean
  /** Methods it answers; others get 405 with `Allow`. */
  methods: readonly string[]
  /** Serve one request; `rawPath` is the request's path exactly as sent (not decoded, dot segments kept). */
  handle: (req: http.IncomingMessage, res: http.ServerResponse, rawPath: string, query: URLSearchParams) => Promise<void>
}

export interface HttpServerInit {
  /** HOST:PORT to listen on (port 0: a free port). */
  listen: string
  /** For messages: what the server is ("gateway"). */
  name: string
  routes: HttpRoute[]
  logger: ComponentLogger
}

/** Headers every reply carries. */
const BASE_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }

/** The local HTTP server (see the module comment). */
export class HttpServer {
  private readonly log: Logger
  private readonly server: http.Server
  private host = ''
  private port = 0

  constructor (private readonly init: HttpServerInit) {
    this.log = init.logger.forComponent(`shoal:http:${init.name}`)
    this.server = http.createServer((req, res) => { void this.dispatch(req, res) })
    this.server.headersTimeout = 10_000
    this.server.requestTimeout = 0 // a media player streams for as long as it plays
    this.server.keepAliveTimeout = 5_000
  }

  /** The base URL, e.g. `http://127.0.0.1:8080`, once started. */
  get url (): string | undefined {
    if (this.port === 0) return undefined
    return `http://${net.isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.port}`
  }

  /** Listen; INVALID_ADDRESS naming the address when that fails. */
  async start (): Promise<void> {
    const { host, port } = parseHostPort(this.init.listen, `${this.init.name} address`, '127.0.0.1:8080')
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject)
        this.server.listen({ host, port }, () => { this.server.off('error', reject); resolve() })
      })
    } catch (err) {
      throw new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot serve the ${this.init.name} on ${this.init.listen}: ${bindFailure(err)}`, { cause: err })
    }
    const address = this.server.address()
    this.host = host
    this.port = typeof address === 'object' && address !== null ? address.port : port
    this.log('%s on %s', this.init.name, this.url)
  }

  async stop (): Promise<void> {
    await new Promise<void>(resolve => {
      this.server.close(() => { resolve() })
      this.server.closeAllConnections()
    })
  }

  private async dispatch (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      if (!hostAllowed(req.headers.host, this.host, this.port)) {
        sendLine(res, 403, `forbidden: Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))} is not this server's address (use ${this.url ?? 'its address'})`)
        return
      }
      // the path as sent: URL parsing would resolve `..` and `%2e%2e` segments away
      const target = req.url ?? '/'
      const q = target.indexOf('?')
      const rawPath = q >= 0 ? target.slice(0, q) : target
      const query = new URLSearchParams(q >= 0 ? target.slice(q + 1) : '')
      const route = this.init.routes.find(r => r.exact === true ? rawPath === r.prefix : rawPath.startsWith(r.prefix) || rawPath === r.prefix.replace(/\/$/, ''))
      if (route === undefined) { sendLine(res, 404, `not found: ${rawPath.slice(0, 200)} (content is under /shoal/<id>/<path>)`); return }
      if (!route.methods.includes(req.method ?? '')) {
        res.setHeader('allow', route.methods.join(', '))
        sendLine(res, 405, `method ${String(req.method)} not allowed${route.methods.every(m => m === 'GET' || m === 'HEAD') ? ': this server is read-only' : ` on ${rawPath.slice(0, 200)}`}`)
        return
      }
      await route.handle(req, res, rawPath, query)
    } catch (err) {
      // the path only: a query may carry the web UI's token, which is never logged
      this.log.error('request %s failed: %e', (req.url ?? '').split('?')[0], err)
      if (!res.headersSent) sendLine(res, 500, `internal error: ${(err as Error)?.message ?? String(err)}`)
      else res.destroy()
    }
  }
}

/** A reply of one line of text. */
export function sendLine (res: http.ServerResponse, status: number, line: string, headers: Record<string, string> = {}): void {
  const body = `${line.replace(/[\r\n]+/g, ' ')}\n`
  res.writeHead(status, { ...BASE_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers })
  res.end(res.req?.method === 'HEAD' ? undefined : body)
}

/** Headers every reply of a route should carry. */
export function baseHeaders (): Record<string, string> {
  return { ...BASE_HEADERS }
}
