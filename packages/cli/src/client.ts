import http from 'node:http'
import { ErrorCode, ShoalError, isErrorCode } from '@shoal/protocol'

/**
 * A client for the daemon's control API on its Unix socket. Every failure is
 * a {@link ShoalError}: the daemon's own (rebuilt from its reply), or
 * DAEMON_NOT_RUNNING when the socket cannot be reached.
 *
 * @example
 * ```ts
 * import { ControlRoute } from '@shoal/protocol'
 * import type { FetchEvent, ShareResult } from '@shoal/protocol'
 *
 * const client = new ControlClient(path.join(repo, 'shoal.sock'))
 * const shared = await client.call<ShareResult>('POST', ControlRoute.shares, { path: '/srv/photos' })
 * for await (const event of client.stream<FetchEvent>('POST', ControlRoute.fetch, { id: shared.ticket, out: '/tmp/copy/' })) {
 *   if (event.type === 'done') console.log('saved', event.path)
 * }
 * ```
 */
export class ControlClient {
  /** The control socket, `<repo>/shoal.sock`. */
  readonly socketPath: string

  /** @param socketPath - the daemon's control socket, `<repo>/shoal.sock` */
  constructor (socketPath: string) {
    this.socketPath = socketPath
  }

  /** One JSON request, one JSON reply; 4xx/5xx become the daemon's typed error. */
  async call<T> (method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body)
    const text = await readAll(res)
    const parsed = parseJson(text)
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(parsed, res.statusCode ?? 500)
    return parsed as T
  }

  /** A request whose reply is NDJSON: yields one object per line. */
  async * stream<T> (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): AsyncGenerator<T> {
    const res = await this.open(method, path, body, headers)
    let buffered = ''
    try {
      for await (const chunk of res) {
        buffered += (chunk as Buffer).toString('utf8')
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim()
          buffered = buffered.slice(nl + 1)
          if (line !== '') yield parseJson(line) as T
        }
      }
    } catch (err) {
      // the daemon went away mid-reply (stopped, killed): say so, not "aborted"
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ECONNRESET' || (err as Error).message === 'aborted') {
        throw new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, `the daemon on ${this.socketPath} closed the connection before it finished (it stopped?); a download resumes when the daemon starts again`, { cause: err })
      }
      throw err
    }
    if (buffered.trim() !== '') yield parseJson(buffered) as T
  }

  /**
   * A request whose reply the caller reads itself (bytes, NDJSON): resolves
   * with the response once its status is known; 4xx/5xx become the typed error.
   * Destroy the response to stop early: the daemon notices and stops sending.
   */
  async open (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
    const res = await this.send(method, path, body, headers)
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(parseJson(await readAll(res)), res.statusCode ?? 500)
    return res
  }

  private async send (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return await new Promise((resolve, reject) => {
      const req = http.request({
        socketPath: this.socketPath,
        path,
        method,
        headers: payload !== undefined ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : headers
      }, resolve)
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') {
          reject(new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, `no shoal daemon is running on ${this.socketPath}`, { cause: err }))
        } else if (err.code === 'EACCES') {
          reject(new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, `permission denied on ${this.socketPath} (the daemon belongs to another user)`, { cause: err }))
        } else {
          reject(new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, `cannot reach the daemon on ${this.socketPath}: ${err.message}`, { cause: err }))
        }
      })
      if (payload !== undefined) req.write(payload)
      req.end()
    })
  }
}

async function readAll (res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new ShoalError(ErrorCode.INTERNAL, `the daemon sent a reply that is not JSON: ${text.slice(0, 100)}`)
  }
}

/**
 * Rebuild the daemon's typed error from `{ error: { code, message } }`: an
 * unknown code, or a body without one, becomes INTERNAL naming the HTTP status.
 *
 * @example
 * ```ts
 * errorFrom({ error: { code: 'NOT_FOUND', message: 'no such share' } }, 404).code // 'NOT_FOUND'
 * ```
 */
export function errorFrom (body: unknown, status: number): ShoalError {
  const e = (body as { error?: { code?: unknown, message?: unknown } })?.error
  const code = isErrorCode(e?.code) ? e.code : ErrorCode.INTERNAL
  const message = typeof e?.message === 'string' ? e.message : `the daemon answered HTTP ${status}`
  return new ShoalError(code, message)
}
