import http from 'node:http'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { shoal, startDaemon, stopAll, tempDir } from './harness.js'
import type { Daemon } from './harness.js'

function controlRequest (socketPath: string, method: string, route: string, body?: string | Buffer): Promise<{ status: number, json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: route, headers: body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString()
        try { resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }) } catch { resolve({ status: res.statusCode ?? 0, json: text }) }
      })
    })
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

describe('CLI errors without a daemon', () => {
  let dir: string
  beforeAll(async () => { dir = await tempDir() })
  afterAll(async () => { await fs.rm(dir, { recursive: true, force: true }) })

  it('status with no daemon exits 3 with one line on stderr', async () => {
    const res = await shoal(['status', '--repo', path.join(dir, 'none')])
    expect(res.code).toBe(3)
    expect(res.stderr).toMatch(/no shoal daemon is running/)
    expect(res.stderr).not.toMatch(/\n\s+at /) // no stack trace
  })

  it('a malformed id exits 2 at once', async () => {
    for (const bad of ['not-a-cid', 'shoal1zzzz', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd0' /* base58 has no 0 */]) {
      const started = Date.now()
      const res = await shoal(['fetch', bad, '--repo', path.join(dir, 'none')])
      expect(res.code, bad).toBe(2)
      expect(res.stderr).toMatch(/INVALID_(ID|TICKET)/)
      expect(Date.now() - started).toBeLessThan(10_000)
    }
  })

  it('unknown commands and missing arguments are usage errors (exit 2)', async () => {
    expect((await shoal(['frobnicate'])).code).toBe(2)
    expect((await shoal(['fetch'])).code).toBe(2)
  })

  it('--help lists every command and the exit codes', async () => {
    const res = await shoal(['--help'])
    expect(res.code).toBe(0)
    for (const cmd of ['daemon', 'share', 'fetch', 'status', 'peers', 'connect', 'ls', 'unshare', 'stop']) expect(res.stdout).toContain(`shoal ${cmd}`)
    expect(res.stdout).toMatch(/Exit codes: 0 ok, 1 failed, 2 usage/)
  })
})

describe('one daemon: local safety and the control API', () => {
  let dir: string
  let a: Daemon
  beforeAll(async () => {
    dir = await tempDir()
    a = await startDaemon(path.join(dir, 'a'))
  })
  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('creates the repo 0700 and the socket 0600', async () => {
    expect((await fs.stat(a.repo)).mode & 0o777).toBe(0o700)
    expect((await fs.stat(path.join(a.repo, 'shoal.sock'))).mode & 0o777).toBe(0o600)
  })

  it('a second daemon on the same repo refuses with a clear message', async () => {
    await expect(startDaemon(a.repo)).rejects.toThrow(/in use by another shoal daemon/)
    // the first one is unharmed
    expect((await a.cli(['status'])).code).toBe(0)
  })

  it('sharing a missing path fails with exit 1 and names the path', async () => {
    const missing = path.join(dir, 'does-not-exist')
    const res = await a.cli(['share', missing])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(missing)
    expect(res.stderr).toMatch(/no such file/)
  })

  it('rejects bad control requests with 4xx and an error code', async () => {
    const sock = path.join(a.repo, 'shoal.sock')
    expect(await controlRequest(sock, 'POST', '/v1/shares', '{not json')).toMatchObject({ status: 400, json: { error: { code: 'BAD_REQUEST' } } })
    expect(await controlRequest(sock, 'POST', '/v1/shares', JSON.stringify({ path: '/tmp', extra: 1 }))).toMatchObject({ status: 400, json: { error: { code: 'BAD_REQUEST' } } })
    expect(await controlRequest(sock, 'POST', '/v1/shares', JSON.stringify({ path: 42 }))).toMatchObject({ status: 400 })
    expect(await controlRequest(sock, 'POST', '/v1/fetch', JSON.stringify({ id: 'nope' }))).toMatchObject({ status: 400, json: { error: { code: 'INVALID_ID' } } })
    expect(await controlRequest(sock, 'GET', '/v1/nowhere')).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_ROUTE' } } })
    const big = await controlRequest(sock, 'POST', '/v1/shares', Buffer.alloc(20 * 1024 * 1024, 0x20))
    expect(big).toMatchObject({ status: 413, json: { error: { code: 'BODY_TOO_LARGE' } } })
    // still alive
    expect((await controlRequest(sock, 'GET', '/v1/status')).status).toBe(200)
  })

  it('a killed daemon leaves a stale lock and socket that the next start takes over', async () => {
    const dead = await startDaemon(path.join(dir, 'killed'))
    await dead.kill('SIGKILL')
    await fs.access(path.join(dead.repo, 'repo.lock'))
    const again = await startDaemon(dead.repo)
    expect(again.peerId).toBe(dead.peerId) // same identity
    expect((await again.cli(['status'])).code).toBe(0)
  })
})
