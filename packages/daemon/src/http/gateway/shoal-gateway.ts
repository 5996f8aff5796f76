/**
 * `GET /shoal/<id>/<path>`: one file of any share, held or not, or a
 * directory listing. Missing chunks are fetched on demand (the requested
 * range first, then read-ahead) through `Shoal.cat`; a single Range answers
 * 206; HEAD, ETag (`If-None-Match`, `If-Range`), Content-Type from the file
 * name. A request a browser makes for another site's page (cross-site) gets
 * only files this node holds completely and never starts a fetch. See
 * docs/PROTOCOL.md, "HTTP gateway".
 */
import { createHash } from 'node:crypto'
import type http from 'node:http'
import { ErrorCode, ShoalError, toShoalError } from '@shoal/protocol'
import type { FilesResult } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import { lookup } from 'mrmime'
import type { Shoal } from '../../shoal-types.js'
import { baseHeaders, sendLine } from '../http-server.js'
import type { HttpRoute } from '../http-server.js'
import type { Slots } from '../../slots.js'
import { parseGatewayPath } from './gateway-path.js'
import { entriesOf, listingHtml } from './listing.js'
import { parseRange } from './ranges.js'
import { isCrossSite } from './request-site.js'

/** Bytes a response may have queued before the next chunk waits for the client to read. */
const RESPONSE_BUFFER_BYTES = 2 * 1024 * 1024

/** The gateway's prefix. */
export const GATEWAY_PREFIX = '/shoal/'

export interface GatewayComponents {
  /** The node: `files` and `cat`, the same operations as the control API. */
  shoal: Pick<Shoal, 'files' | 'cat'>
  /** Limits how many responses stream at once. */
  slots: Slots
  /** This server's own origins (`http://127.0.0.1:8080`, `http://localhost:8080`): not cross-site. */
  origins: () => ReadonlySet<string>
  log: Logger
}

/** The /shoal/ route. */
export function shoalGateway (c: GatewayComponents): HttpRoute {
  return {
    prefix: GATEWAY_PREFIX,
    methods: ['GET', 'HEAD'],
    handle: async (req, res, rawPath) => {
      try {
        await serve(c, req, res, rawPath)
      } catch (err) {
        if (res.headersSent) { res.destroy(); return }
        const e = toShoalError(err)
        if (e.code === ErrorCode.INTERNAL) c.log.error('%s: %e', rawPath, err)
        sendLine(res, statusOf(e), `${statusText(statusOf(e))}: ${e.message}`)
      }
    }
  }
}

async function serve (c: GatewayComponents, req: http.IncomingMessage, res: http.ServerResponse, rawPath: string): Promise<void> {
  const where = parseGatewayPath(rawPath, GATEWAY_PREFIX)
  const crossSite = isCrossSite(req, c.origins())
  const gone = new AbortController()
  res.once('close', () => { if (!res.writableFinished) gone.abort(new ShoalError(ErrorCode.ABORTED, 'the client went away')) })
  let files: FilesResult
  try {
    // (no UnixFS CIDs: a string per file of the share, on every request, that nothing here reads)
    files = await c.shoal.files(where.id, { local: crossSite, signal: gone.signal, ipfsCids: false })
  } catch (err) {
    if (crossSite && err instanceof ShoalError && err.code === ErrorCode.NOT_FOUND) throw crossSiteRefusal(rawPath)
    throw err
  }
  const { cid } = files
  // a single-file share: /shoal/<id>, or /shoal/<id>/<any name> (the name gives the type)
  if (files.kind === 'file') {
    if (where.depth > 1) throw new ShoalError(ErrorCode.NOT_FOUND, `${cid} is a single file: /shoal/${cid} or /shoal/${cid}/<name>`)
    const file = files.files[0] as { path: string, size: number, held: number }
    await sendFile(c, req, res, where.id, cid, undefined, where.depth === 1 ? where.rel : files.name, file, crossSite, gone.signal)
    return
  }
  const file = files.files.find(f => f.path === where.rel)
  if (file !== undefined) {
    await sendFile(c, req, res, where.id, cid, file.path, file.path.split('/').pop() as string, file, crossSite, gone.signal)
    return
  }
  const entries = entriesOf(files, where.rel)
  if (entries === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `no file or directory "${where.rel.slice(0, 200)}" in ${cid}`)
  if (!where.trailingSlash) {
    // relative links in the listing need the directory's own URL
    const last = rawPath.split('/').pop() as string
    sendLine(res, 301, `moved: ${last}/`, { location: `${last}/` })
    return
  }
  const json = (req.headers.accept ?? '').includes('application/json')
  const body = json ? JSON.stringify({ cid, path: where.rel, entries }) + '\n' : listingHtml(cid, where.rel, entries)
  res.writeHead(200, {
    ...baseHeaders(),
    'content-type': json ? 'application/json' : 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-cache',
    vary: 'Accept',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'"
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

async function sendFile (c: GatewayComponents, req: http.IncomingMessage, res: http.ServerResponse, id: string, cid: string, filePath: string | undefined, name: string, file: { size: number, held: number }, crossSite: boolean, signal: AbortSignal): Promise<void> {
  // another site's page never makes this node fetch, and sees only what is held completely
  if (crossSite && file.held < file.size) throw crossSiteRefusal(`/shoal/${cid}/${filePath ?? ''}`)
  const etag = `"${cid}.${createHash('sha256').update(filePath ?? '').digest('hex').slice(0, 16)}"`
  const headers: Record<string, string> = {
    ...baseHeaders(),
    'content-type': contentType(name),
    'accept-ranges': 'bytes',
    etag,
    'cache-control': 'public, max-age=31536000, immutable',
    // a shared HTML or SVG file must not run scripts with this server's origin
    'content-security-policy': 'sandbox',
    'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(name)}`
  }
  if (ifNoneMatch(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers)
    res.end()
    return
  }
  const ifRange = req.headers['if-range']
  const range = ifRange !== undefined && ifRange !== etag ? { kind: 'whole' as const } : parseRange(req.headers.range, file.size)
  if (range.kind === 'malformed') throw new ShoalError(ErrorCode.BAD_REQUEST, `malformed Range header ${JSON.stringify(String(req.headers.range).slice(0, 100))}`)
  if (range.kind === 'unsatisfiable') {
    sendLine(res, 416, `range not satisfiable: the file has ${file.size} bytes`, { 'content-range': `bytes */${file.size}` })
    return
  }
  const start = range.kind === 'single' ? range.start : 0
  const end = range.kind === 'single' ? range.end : file.size
  const status = range.kind === 'single' ? 206 : 200
  if (status === 206) headers['content-range'] = `bytes ${start}-${end - 1}/${file.size}`
  headers['content-length'] = String(end - start)
  if (req.method === 'HEAD' || end === start) {
    res.writeHead(status, headers)
    res.end()
    return
  }
  const release = await c.slots.acquire(signal)
  try {
    const stream = await c.shoal.cat(id, filePath, { start, end, local: crossSite, signal })
    const chunks = stream[Symbol.asyncIterator]()
    try {
      // the first bytes before the status: a chunk that never comes is a 504, not a cut-short 200
      let next = await chunks.next()
      res.writeHead(status, headers)
      while (next.done !== true) {
        if (signal.aborted) return
        // a chunk's pieces in one write (see control-server.ts corkedWrite)
        if (!res.writableCorked) { res.cork(); process.nextTick(() => { res.uncork() }) }
        res.write(next.value)
        // wait for the client only past a few chunks: waiting after every piece costs a round trip each
        if (res.writableLength >= RESPONSE_BUFFER_BYTES) await drained(res)
        if (signal.aborted) return
        next = await chunks.next()
      }
      res.end()
    } finally {
      await chunks.return?.()
    }
  } finally {
    release()
  }
}

function crossSiteRefusal (path: string): ShoalError {
  return new ShoalError(ErrorCode.BAD_REQUEST, `cross-site: a page of another site asked for ${path.slice(0, 200)}, which this node does not hold completely; it never fetches for another site's page (open the URL directly)`, { details: { status: 403 } })
}

/** The HTTP status of a failure. */
function statusOf (e: ShoalError): number {
  const explicit = e.details?.status
  if (typeof explicit === 'number') return explicit
  switch (e.code) {
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.INVALID_ID:
    case ErrorCode.INVALID_TICKET:
      return 400
    case ErrorCode.NOT_FOUND:
    case ErrorCode.INVALID_PATH:
    case ErrorCode.NO_PROVIDERS:
      return 404
    case ErrorCode.TIMEOUT:
      return 504
    case ErrorCode.ABORTED:
    case ErrorCode.NOT_STARTED:
      return 503
    default:
      return 500
  }
}

function statusText (status: number): string {
  return ({ 400: 'bad request', 403: 'forbidden', 404: 'not found', 416: 'range not satisfiable', 503: 'unavailable', 504: 'gateway timeout' } as Record<number, string>)[status] ?? 'error'
}

/** The type of a file from its name's extension (text with a charset); octet-stream when unknown. */
export function contentType (name: string): string {
  const type = lookup(name) ?? 'application/octet-stream'
  return type.startsWith('text/') || type === 'application/json' || type === 'application/javascript' ? `${type}; charset=utf-8` : type
}

function ifNoneMatch (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.trim() === '*' || header.split(',').some(t => t.trim().replace(/^W\//, '') === etag)
}

/** Resolves when `res` can take more, or is gone. */
async function drained (res: http.ServerResponse): Promise<void> {
  await new Promise<void>(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}
