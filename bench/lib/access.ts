/**
 * What the access benchmarks (9-12) share: a daemon's gateway URL, timed
 * HTTP requests from the bench process, the control socket without the
 * CLI, timed shell pipelines, and dropping one file from the page cache.
 */
import { execFile } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import type { FetchEvent, FilesResult } from '@shoal/protocol'
import { spawnTracked, collect } from '../../examples/support/cli-process.js'
import type { DaemonProcess } from './daemons.js'

const run = promisify(execFile)

/** The gateway URL a daemon started with `--gateway` printed in its ready event. */
export async function gatewayOf (d: DaemonProcess): Promise<string> {
  const ready = await d.waitForEvent(e => e.event === 'ready')
  if (typeof ready.gateway !== 'string') throw new Error(`${d.name} has no gateway (start it with --gateway)`)
  return ready.gateway
}

/** GET `url`; the body, and the ms from the request to its last byte. */
export async function timedGet (url: string, headers: Record<string, string> = {}): Promise<{ status: number, body: Buffer, ms: number }> {
  const t0 = performance.now()
  return await new Promise((resolve, reject) => {
    http.get(url, { headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - t0 }) })
    }).on('error', reject)
  })
}

/** One request on the daemon's control socket; the reply body as text. */
async function socketRequest (d: DaemonProcess, method: string, route: string, body?: unknown): Promise<string> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path.join(d.repo, 'shoal.sock'), path: route, method, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, res => {
      let text = ''
      res.setEncoding('utf8').on('data', (s: string) => { text += s })
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`${method} ${route}: ${res.statusCode ?? 0} ${text}`))
        else resolve(text)
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** `GET /v1/files/<id>`: what the daemon holds of a share. */
export async function filesOf (d: DaemonProcess, id: string): Promise<FilesResult> {
  return JSON.parse(await socketRequest(d, 'GET', `/v1/files/${encodeURIComponent(id)}`)) as FilesResult
}

/** A fetch over the control socket (no CLI start-up): ms from the request to the `done` event. */
export async function socketFetchMs (d: DaemonProcess, id: string, out: string): Promise<number> {
  const t0 = performance.now()
  const text = await socketRequest(d, 'POST', '/v1/fetch', { id, out })
  const ms = performance.now() - t0
  const last = JSON.parse(text.trim().split('\n').pop() ?? '{}') as FetchEvent
  if (last.type !== 'done') throw new Error(`fetch of ${id.slice(0, 24)}... did not finish: ${JSON.stringify(last)}`)
  return ms
}

/** Run `bash -c script`; its stdout and wall seconds (spawn to exit). Throws unless it exits 0. */
export async function timedShell (script: string, timeoutMs = 600_000): Promise<{ stdout: string, seconds: number }> {
  const { proc } = spawnTracked('bash', ['-o', 'pipefail', '-c', script])
  const r = await collect(proc, timeoutMs)
  if (r.code !== 0) throw new Error(`\`${script}\` failed (${String(r.code ?? r.signal)}): ${r.stderr.trim().slice(0, 300)}`)
  return { stdout: r.stdout, seconds: r.seconds }
}

/** Drop `file` from the page cache (written back first, then GNU dd `iflag=nocache count=0`): its next read comes from disk. */
export async function evict (file: string): Promise<void> {
  await run('sync', [file])
  await run('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'])
}

/** Quote for bash. */
export function sh (s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`
}
