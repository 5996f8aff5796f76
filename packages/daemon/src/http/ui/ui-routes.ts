/**
 * The web UI's routes on the daemon's HTTP server, next to the gateway's
 * `/shoal/`: `/` (the app, or a page that says to run `shoal ui`),
 * `/ui/assets/…` (the bundled script, style sheet and icon) and
 * `/ui/api/v1/…`, which is the control API itself (control/), the same
 * routes, bodies, validation and errors as on `<repo>/shoal.sock`, limited
 * to what the UI uses and behind the token cookie and origin rules
 * (ui-auth.ts). Nothing here reaches the node but through that API.
 */
import type http from 'node:http'
import type { Logger } from '@libp2p/interface'
import { ErrorCode } from '@shoal/protocol'
import type { HttpRoute } from '../http-server.js'
import type { UiAuth } from './ui-auth.js'
import type { UiFile, UiFiles } from './ui-assets.js'
import { pageHeaders, uiHeaders } from './ui-headers.js'

/** Serves one control API request (`req.url` is its path under /v1/). */
export type ControlHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>

export interface UiRoutesInit {
  auth: UiAuth
  /** The built UI (loaded when the server starts). */
  files: () => UiFiles
  /** The control API's handler, once the node runs. */
  control: () => ControlHandler | undefined
  /** This server's own origins (`http://127.0.0.1:PORT`, …). */
  origins: () => ReadonlySet<string>
  log: Logger
}

/** Where the UI's API is mounted: `/ui/api` + a control route. */
export const UI_API_PREFIX = '/ui/api'

const ID = '[A-Za-z0-9]{1,4096}'
/** The control routes the UI may call, by method; `stop`, `cat` and `ui` are not among them. */
const ALLOWED: Record<string, RegExp[]> = {
  GET: [/^\/v1\/(status|peers|ls|shares|events)$/, new RegExp(`^/v1/files/${ID}$`), new RegExp(`^/v1/downloads/${ID}/chunks$`)],
  POST: [/^\/v1\/(shares|fetch|connect)$/, new RegExp(`^/v1/downloads/${ID}/pause$`)],
  DELETE: [new RegExp(`^/v1/shares/${ID}$`), new RegExp(`^/v1/downloads/${ID}$`)]
}

/** True when the UI may call control route `method` `path`. */
export function uiMayCall (method: string, path: string): boolean {
  return (ALLOWED[method === 'HEAD' ? 'GET' : method] ?? []).some(re => re.test(path))
}

/** The UI's routes (see the module comment). */
export function uiRoutes (init: UiRoutesInit): HttpRoute[] {
  return [
    { prefix: '/', exact: true, methods: ['GET', 'HEAD'], handle: async (req, res, _raw, query) => { page(init, req, res, query) } },
    {
      prefix: '/ui/',
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      handle: async (req, res, rawPath) => {
        if (rawPath.startsWith('/ui/assets/')) { asset(init, req, res, rawPath.slice('/ui/'.length)); return }
        if (rawPath.startsWith(UI_API_PREFIX + '/')) { await api(init, req, res, rawPath.slice(UI_API_PREFIX.length)); return }
        sendJsonError(res, 404, ErrorCode.UNKNOWN_ROUTE, `no UI route ${rawPath.slice(0, 200)}`)
      }
    }
  ]
}

/** `/`: the app for a browser with the token (given now in `?token=`, or held in the cookie), else the "run `shoal ui`" page. */
function page (init: UiRoutesInit, req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): void {
  const files = init.files()
  const app = files.get('index.html')
  const locked = files.get('locked.html')
  if (app === undefined || locked === undefined) {
    sendText(res, 503, 'the web UI is not built: run `npm run build`')
    return
  }
  const given = query.get('token')
  const headers = pageHeaders()
  if (given !== null) {
    if (!init.auth.tokenMatches(given)) { send(req, res, 403, locked, headers); return }
    send(req, res, 200, app, { ...headers, 'set-cookie': init.auth.setCookie(given) })
    return
  }
  send(req, res, init.auth.hasCookie(req) ? 200 : 403, init.auth.hasCookie(req) ? app : locked, headers)
}

/** `/ui/assets/<name>`: content-hashed names, cached for good. */
function asset (init: UiRoutesInit, req: http.IncomingMessage, res: http.ServerResponse, name: string): void {
  const file = req.method === 'GET' || req.method === 'HEAD' ? init.files().get(name) : undefined
  if (file === undefined || name.includes('..')) { sendText(res, 404, `no UI file ${name.slice(0, 200)}`); return }
  const headers = { ...uiHeaders(), 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable', etag: file.etag }
  if (req.headers['if-none-match'] === file.etag) { res.writeHead(304, headers); res.end(); return }
  send(req, res, 200, file, headers)
}

/** `/ui/api/v1/…`: the control API, for a browser with the token, from this server's pages. */
async function api (init: UiRoutesInit, req: http.IncomingMessage, res: http.ServerResponse, route: string): Promise<void> {
  const method = req.method ?? 'GET'
  const refusal = init.auth.refusal(req, init.origins())
  if (refusal !== undefined) {
    init.log('refused %s %s: %s', method, route, refusal)
    sendJsonError(res, 403, ErrorCode.FORBIDDEN, `forbidden: ${refusal}`)
    return
  }
  if (!uiMayCall(method, route)) { sendJsonError(res, 404, ErrorCode.UNKNOWN_ROUTE, `the web UI has no route ${method} ${route.slice(0, 200)}`); return }
  const control = init.control()
  if (control === undefined) { sendJsonError(res, 503, ErrorCode.NOT_STARTED, 'the node is not running yet'); return }
  const target = req.url ?? ''
  const q = target.indexOf('?')
  // the control server routes by req.url: hand it the path under /v1/
  req.url = route + (q >= 0 ? target.slice(q) : '')
  for (const [name, value] of Object.entries(uiHeaders())) res.setHeader(name, value)
  res.setHeader('cache-control', 'no-store')
  await control(req, res)
}

function send (req: http.IncomingMessage, res: http.ServerResponse, status: number, file: UiFile, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': String(file.body.byteLength) })
  res.end(req.method === 'HEAD' ? undefined : file.body)
}

function sendText (res: http.ServerResponse, status: number, line: string): void {
  const body = line + '\n'
  res.writeHead(status, { ...uiHeaders(), 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}

function sendJsonError (res: http.ServerResponse, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } })
  res.writeHead(status, { ...uiHeaders(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}
