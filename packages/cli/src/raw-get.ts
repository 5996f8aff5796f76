import net from 'node:net'
import type { Readable } from 'node:stream'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import { errorFrom } from './client.js'

/** Longest response head accepted. */
const MAX_HEAD_BYTES = 64 * 1024

/**
 * GET `path` on the control socket for a bulk body (`shoal cat`): the body
 * is the socket itself, read past the response head, with no HTTP parser
 * on the way (Node's costs about 1 CPU-second per GiB on these machines,
 * reading the socket straight about a fifth of that). The daemon answers
 * with a content-length and closes the connection after it. 4xx/5xx become
 * the daemon's typed error.
 *
 * @example
 * ```ts
 * const { length, body } = await getBytes('/home/me/.shoal/shoal.sock', `/v1/cat/${cid}`)
 * body.pipe(process.stdout)
 * ```
 */
export async function getBytes (socketPath: string, path: string): Promise<{ length: number, body: Readable }> {
  const socket = net.connect(socketPath)
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EACCES') reject(new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, `permission denied on ${socketPath} (the daemon belongs to another user)`, { cause: err }))
        else reject(new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, `no shoal daemon is running on ${socketPath}`, { cause: err }))
      })
    })
    socket.write(`GET ${path} HTTP/1.1\r\nHost: shoal\r\nConnection: close\r\n\r\n`)
    const { status, headers, rest } = await readHead(socket)
    if (rest.byteLength > 0) socket.unshift(rest)
    const length = Number(headers['content-length'] ?? NaN)
    if (status >= 400) {
      const chunks: Buffer[] = []
      for await (const c of socket) chunks.push(c as Buffer)
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      try { body = JSON.parse(text) } catch { body = undefined }
      throw errorFrom(body, status)
    }
    return { length, body: socket }
  } catch (err) {
    socket.destroy()
    throw err
  }
}

/** Read the status line and headers; what came after them is `rest` (the socket is left paused). */
async function readHead (socket: net.Socket): Promise<{ status: number, headers: Record<string, string>, rest: Buffer }> {
  return await new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const done = (): void => { socket.off('data', onData); socket.off('end', onEnd); socket.off('error', onEnd) }
    const onEnd = (): void => { done(); reject(new ShoalError(ErrorCode.DAEMON_NOT_RUNNING, 'the daemon closed the connection before it answered')) }
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk])
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) {
        if (buffered.byteLength > MAX_HEAD_BYTES) { done(); reject(new ShoalError(ErrorCode.INTERNAL, 'the daemon sent an oversized response head')) }
        return
      }
      done()
      socket.pause()
      const [statusLine = '', ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN)
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      if (!Number.isFinite(status)) { reject(new ShoalError(ErrorCode.INTERNAL, `the daemon sent a reply that is not HTTP: ${statusLine.slice(0, 100)}`)); return }
      resolve({ status, headers, rest: buffered.subarray(end + 4) })
    }
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('error', onEnd)
  })
}
