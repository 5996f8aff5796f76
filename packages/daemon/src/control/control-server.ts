import fs from 'node:fs/promises'
import http from 'node:http'
import {
  ControlRoute, ErrorCode, MAX_CONTROL_BODY_BYTES, NDJSON_CONTENT_TYPE, ShoalError, decodeTicket, isIpfsId, isTicket, parseContentId, parseIpfsCid, toShoalError
} from '@shoal/protocol'
import type { ConnectRequest, FetchEvent, FetchRequest, ShareEvent, ShareRequest } from '@shoal/protocol'
import type { Shoal } from '../shoal-types.js'
import { parseConnect, parseFetch, parseShare } from './request-validation.js'
import { LiveFeed } from './live-feed.js'
import type { ComponentLogger, Logger } from '@libp2p/interface'

/** At most one hashing event per this many ms (the last one is always sent). */
const SHARE_PROGRESS_INTERVAL_MS = 100
/** `cat` over the control socket (a whole file, in order) demands this far ahead of the chunk being read. */
const CAT_READ_AHEAD_BYTES = 64 * 1024 * 1024
/** Bytes a `cat` reply may have queued before the next chunk waits for the client to read. */
const CAT_BUFFER_BYTES = 2 * 1024 * 1024
/** At stop, how long running fetch streams get to send their last event. */
const STREAM_DRAIN_ON_STOP_MS = 800

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: unknown, params: string[]) => Promise<unknown>

interface Route {
  method: string
  pattern: RegExp
  /** Parses the JSON body, or undefined for routes without one. */
  body?: (raw: unknown) => unknown
  handler: Handler
}

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_ID: 400,
  INVALID_TICKET: 400,
  INVALID_PATH: 400,
  INVALID_ADDRESS: 400,
  INVALID_MANIFEST: 422,
  INVALID_DAG: 422,
  NOT_FOUND: 404,
  UNKNOWN_ROUTE: 404,
  NO_PROVIDERS: 404,
  PATH_EXISTS: 409,
  BODY_TOO_LARGE: 413,
  DIAL_FAILED: 502,
  DISK_FULL: 507,
  NOT_STARTED: 503,
  NO_MATCH: 400,
  TIMEOUT: 504,
  UI_UNAVAILABLE: 404,
  FORBIDDEN: 403
}

/**
 * The control API: HTTP/1.1 + JSON on `<repo>/shoal.sock` (mode 0600).
 * Bodies are size-limited and validated; errors are `{ error: { code, message } }`.
 */
export class ControlServer {
  private readonly shoal: Shoal
  private readonly socketPath: string
  private readonly onStop: () => void
  private readonly server: http.Server
  private readonly routes: Route[]
  /** Fetch streams still running: stop() lets them send their last event. */
  private readonly streaming = new Set<Promise<void>>()

  private readonly log: Logger
  /** `GET /v1/events`: samples for the web UI, taken only while someone listens. */
  private readonly live: LiveFeed

  constructor (shoal: Shoal, socketPath: string, onStop: () => void, logger: ComponentLogger) {
    this.log = logger.forComponent('shoal:control')
    this.live = new LiveFeed(shoal, logger.forComponent('shoal:control:live'))
    this.shoal = shoal
    this.socketPath = socketPath
    this.onStop = onStop
    this.routes = this.buildRoutes()
    this.server = http.createServer((req, res) => { void this.handle(req, res) })
    this.server.requestTimeout = 0 // fetch streams for as long as the transfer takes
    this.server.headersTimeout = 10_000
  }

  async start (): Promise<void> {
    // we hold the repo lock, so a socket file here is left over from a killed daemon
    await fs.rm(this.socketPath, { force: true })
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.socketPath, () => { this.server.off('error', reject); resolve() })
    })
    await fs.chmod(this.socketPath, 0o600)
    this.log('control API on %s', this.socketPath)
  }

  async stop (): Promise<void> {
    this.live.stop()
    if (!this.server.listening) return // made for the web UI's API alone (no control socket)
    // the daemon stops its downloads first: give their fetch streams a moment
    // to send the ABORTED event ("fetch again to resume") before cutting them
    if (this.streaming.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...this.streaming]),
        new Promise<void>(resolve => { timer = setTimeout(resolve, STREAM_DRAIN_ON_STOP_MS) })
      ])
      clearTimeout(timer)
    }
    await new Promise<void>(resolve => {
      this.server.close(() => { resolve() })
      this.server.closeAllConnections()
    })
    await fs.rm(this.socketPath, { force: true })
  }

  private buildRoutes (): Route[] {
    const s = this.shoal
    return [
      { method: 'GET', pattern: route(ControlRoute.status), handler: async () => await s.status() },
      { method: 'GET', pattern: route(ControlRoute.peers), handler: async () => ({ peers: await s.peers() }) },
      { method: 'POST', pattern: route(ControlRoute.connect), body: parseConnect, handler: async (_q, _r, body) => await s.connect((body as ConnectRequest).addr) },
      { method: 'GET', pattern: route(ControlRoute.ls), handler: async () => await s.list() },
      { method: 'GET', pattern: route(ControlRoute.shares), handler: async () => ({ shares: (await s.list()).shares }) },
      { method: 'POST', pattern: route(ControlRoute.shares), body: parseShare, handler: async (req, res, body) => await this.share(req, res, body as ShareRequest) },
      { method: 'DELETE', pattern: new RegExp(`^${ControlRoute.shares}/([^/]+)$`), handler: async (_q, _r, _b, params) => await s.unshare(decodeURIComponent(params[0] ?? '')) },
      { method: 'POST', pattern: route(ControlRoute.fetch), body: parseFetch, handler: async (req, res, body) => await this.fetch(req, res, body as FetchRequest) },
      { method: 'POST', pattern: new RegExp(`^${ControlRoute.downloads}/([^/]+)/pause$`), handler: async (_q, _r, _b, params) => await s.pause(decodeURIComponent(params[0] ?? '')) },
      { method: 'DELETE', pattern: new RegExp(`^${ControlRoute.downloads}/([^/]+)$`), handler: async (_q, _r, _b, params) => await s.cancel(decodeURIComponent(params[0] ?? '')) },
      { method: 'GET', pattern: new RegExp(`^${ControlRoute.cat}/([^/]+)$`), handler: async (req, res, _b, params) => { await this.streamCat(req, res, decodeURIComponent(params[0] ?? '')) } },
      { method: 'GET', pattern: new RegExp(`^${ControlRoute.files}/([^/]+)$`), handler: async (req, _r, _b, params) => await s.files(decodeURIComponent(params[0] ?? ''), timeoutOf(queryOf(req))) },
      { method: 'POST', pattern: route(ControlRoute.stop), handler: async () => { setImmediate(this.onStop); return { stopping: true } } },
      { method: 'GET', pattern: new RegExp(`^${ControlRoute.downloads}/([^/]+)/chunks$`), handler: async (_q, _r, _b, params) => await s.chunkMap(decodeURIComponent(params[0] ?? '')) },
      { method: 'GET', pattern: route(ControlRoute.events), handler: async (req, res) => { this.live.serve(req, res) } },
      { method: 'GET', pattern: route(ControlRoute.ui), handler: async () => await s.uiAccess() }
    ]
  }

  /** Serve one request (`req.url`: a /v1/ route); the socket's server and the web UI's API (http/ui/) both call this. */
  async handle (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://shoal')
      let matched: { route: Route, params: string[] } | undefined
      let pathKnown = false
      for (const r of this.routes) {
        const m = r.pattern.exec(url.pathname)
        if (m === null) continue
        pathKnown = true
        if (r.method === req.method) { matched = { route: r, params: m.slice(1) }; break }
      }
      if (matched === undefined) {
        await drain(req)
        if (pathKnown) { sendError(res, 405, new ShoalError(ErrorCode.BAD_REQUEST, `method ${String(req.method)} not allowed on ${url.pathname}`)); return }
        sendError(res, 404, new ShoalError(ErrorCode.UNKNOWN_ROUTE, `no route ${String(req.method)} ${url.pathname}`))
        return
      }
      let body: unknown
      if (matched.route.body !== undefined) {
        body = matched.route.body(await readJson(req))
      } else {
        await drain(req)
      }
      const result = await matched.route.handler(req, res, body, matched.params)
      if (!res.headersSent) sendJson(res, 200, result)
    } catch (err) {
      const e = toShoalError(err)
      if (e.code === ErrorCode.INTERNAL) this.log.error('control request failed: %e', err)
      if (!res.headersSent) sendError(res, HTTP_STATUS[e.code] ?? 500, e)
      else res.end()
    }
  }

  /** A detached fetch replies with its TransferInfo once it runs; else its events stream. */
  private async fetch (req: http.IncomingMessage, res: http.ServerResponse, body: FetchRequest): Promise<unknown> {
    if (body.detach === true) return await this.shoal.startFetch(body.id, fetchOptionsOf(body))
    await this.streamFetch(req, res, body)
    return undefined
  }

  private async streamFetch (req: http.IncomingMessage, res: http.ServerResponse, body: FetchRequest): Promise<void> {
    const running = this.runFetchStream(req, res, body)
    this.streaming.add(running)
    try {
      await running
    } finally {
      this.streaming.delete(running)
    }
  }

  private async runFetchStream (req: http.IncomingMessage, res: http.ServerResponse, body: FetchRequest): Promise<void> {
    // reject bad ids with a 4xx before the stream starts
    if (isTicket(body.id)) decodeTicket(body.id)
    else if (isIpfsId(body.id)) parseIpfsCid(body.id)
    else parseContentId(body.id)
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
    const write = (e: FetchEvent): void => {
      if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(e) + '\n')
    }
    try {
      // the download belongs to the daemon: a client that goes away does not cancel it
      await this.shoal.fetch(body.id, { ...fetchOptionsOf(body), onProgress: write })
    } catch (err) {
      const e = toShoalError(err)
      write({ type: 'error', error: e.toJSON() })
    }
    res.end()
    void req
  }

  /**
   * Share a path: one JSON ShareResult, or with `accept: application/x-ndjson`
   * hashing progress events, then `done` (or `error`). Failures before the
   * first event still get a 4xx; a client that goes away cancels the hashing.
   */
  private async share (req: http.IncomingMessage, res: http.ServerResponse, body: ShareRequest): Promise<unknown> {
    if (!(req.headers.accept ?? '').includes(NDJSON_CONTENT_TYPE)) return await this.shoal.share(body.path)
    const cancel = new AbortController()
    res.once('close', () => { if (!res.writableFinished) cancel.abort(new ShoalError(ErrorCode.ABORTED, 'share cancelled: the client went away')) })
    const write = (e: ShareEvent): void => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': NDJSON_CONTENT_TYPE, 'cache-control': 'no-store' })
      if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(e) + '\n')
    }
    let lastSent = 0
    try {
      const result = await this.shoal.share(body.path, {
        signal: cancel.signal,
        onProgress: ({ hashedBytes, totalBytes, files }) => {
          const now = Date.now()
          if (hashedBytes < totalBytes && now - lastSent < SHARE_PROGRESS_INTERVAL_MS) return
          lastSent = now
          write({ type: 'hashing', hashedBytes, totalBytes, files })
        }
      })
      write({ type: 'done', ...result })
    } catch (err) {
      if (!res.headersSent) throw err // nothing streamed yet: an ordinary 4xx/5xx reply
      const e = toShoalError(err)
      if (e.code === ErrorCode.INTERNAL) this.log.error('share failed: %e', err)
      write({ type: 'error', error: e.toJSON() })
    }
    res.end()
  }

  /**
   * Stream one file of a share through its verified reader, with backpressure.
   * Errors up to the first chunk get a 4xx; later ones cut the reply short of
   * its content-length, which every HTTP client reports as a failure.
   */
  private async streamCat (req: http.IncomingMessage, res: http.ServerResponse, cid: string): Promise<void> {
    const query = queryOf(req)
    const path = query.get('path') ?? undefined
    const start = offsetOf(query, 'start')
    const end = offsetOf(query, 'end')
    let gone = false
    const stop = new AbortController()
    res.once('close', () => { gone = true; if (!res.writableFinished) stop.abort(new ShoalError(ErrorCode.ABORTED, 'the client went away')) })
    // `shoal cat` reads a whole file in order: a longer read-ahead keeps every provider busy
    const file = await this.shoal.cat(cid, path, { ...timeoutOf(query), ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), signal: stop.signal, readAheadBytes: CAT_READ_AHEAD_BYTES })
    const chunks = file[Symbol.asyncIterator]()
    try {
      let next = await chunks.next()
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.length), 'cache-control': 'no-store' })
      while (next.done !== true) {
        // the client went away (`shoal cat … | head -c 10`): stop reading
        if (gone) return
        corkedWrite(res, next.value)
        // wait for the client only past a few chunks' worth: a wait per piece costs a round trip each
        if (res.writableLength >= CAT_BUFFER_BYTES) await drained(res, () => gone)
        if (gone) return
        next = await chunks.next()
      }
      res.end()
    } catch (err) {
      if (!res.headersSent) throw err
      const e = toShoalError(err)
      this.log.error('cat of %s stopped after the reply began: %s', cid, e.message)
      res.destroy()
    } finally {
      await chunks.return?.()
    }
  }
}

function fetchOptionsOf (body: FetchRequest): { out?: string, cwd?: string, force: boolean, resolveTimeoutMs?: number, only?: string[], peers?: string[] } {
  return {
    ...(body.only !== undefined ? { only: body.only } : {}),
    ...(body.peers !== undefined ? { peers: body.peers } : {}),
    ...(body.out !== undefined ? { out: body.out } : {}),
    ...(body.cwd !== undefined ? { cwd: body.cwd } : {}),
    force: body.force === true,
    ...(body.timeout !== undefined ? { resolveTimeoutMs: body.timeout * 1000 } : {})
  }
}

function queryOf (req: http.IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://shoal').searchParams
}

/** `?timeout=S`: seconds to look for providers of a manifest this node lacks. */
function timeoutOf (query: URLSearchParams): { resolveTimeoutMs?: number } {
  const t = query.get('timeout')
  if (t === null) return {}
  const seconds = Number(t)
  if (t === '' || !Number.isFinite(seconds) || seconds < 0) throw new ShoalError(ErrorCode.BAD_REQUEST, `timeout must be a number of seconds >= 0, not ${JSON.stringify(t.slice(0, 50))}`)
  return { resolveTimeoutMs: seconds * 1000 }
}

/** `?start=` / `?end=`: a byte offset. */
function offsetOf (query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name)
  if (v === null) return undefined
  if (!/^\d{1,16}$/.test(v)) throw new ShoalError(ErrorCode.BAD_REQUEST, `${name} must be a byte offset, not ${JSON.stringify(v.slice(0, 50))}`)
  return Number(v)
}

/**
 * Write `piece`, batching the pieces written in the same turn of the event
 * loop (a chunk's pieces, as they arrived from the network) into one write:
 * a write per 64 KiB piece cost ~1 CPU-s per GiB.
 */
export function corkedWrite (res: http.ServerResponse, piece: Uint8Array): void {
  if (!res.writableCorked) {
    res.cork()
    process.nextTick(() => { res.uncork() })
  }
  res.write(piece)
}

/** Resolves when `res` can take more data, or is gone. */
async function drained (res: http.ServerResponse, gone: () => boolean): Promise<void> {
  if (gone()) return
  await new Promise<void>(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}

function route (path: string): RegExp {
  return new RegExp(`^${path.replace(/\//g, '\\/')}$`)
}

async function readJson (req: http.IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? '0')
  if (declared > MAX_CONTROL_BODY_BYTES) {
    req.resume()
    throw new ShoalError(ErrorCode.BODY_TOO_LARGE, `request body of ${declared} bytes exceeds the ${MAX_CONTROL_BODY_BYTES} byte limit`)
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_CONTROL_BODY_BYTES) {
      req.resume()
      throw new ShoalError(ErrorCode.BODY_TOO_LARGE, `request body exceeds the ${MAX_CONTROL_BODY_BYTES} byte limit`)
    }
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new ShoalError(ErrorCode.BAD_REQUEST, 'request body must be a JSON object')
  try {
    return JSON.parse(text)
  } catch {
    throw new ShoalError(ErrorCode.BAD_REQUEST, 'request body is not valid JSON')
  }
}

async function drain (req: http.IncomingMessage): Promise<void> {
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength
    if (size > MAX_CONTROL_BODY_BYTES) {
      throw new ShoalError(ErrorCode.BODY_TOO_LARGE, `request body exceeds the ${MAX_CONTROL_BODY_BYTES} byte limit`)
    }
  }
}

function sendJson (res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? {})
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function sendError (res: http.ServerResponse, status: number, err: ShoalError): void {
  sendJson(res, status, { error: err.toJSON() })
}
