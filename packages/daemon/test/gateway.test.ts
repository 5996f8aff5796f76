/**
 * The HTTP gateway and reading content not held, through the embedding API:
 * two nodes in one process, the reader with a gateway on 127.0.0.1. What
 * the CLI and real daemons do with the same: test/access.test.ts.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, createShoal } from '../src/index.js'
import type { Shoal } from '../src/index.js'
import { startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024

interface Reply { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

function request (url: string, headers: Record<string, string> = {}, method = 'GET', agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, ...(agent !== undefined ? { agent } : {}) }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the gateway and reads of content not held', () => {
  let dir: string
  let seeder: Shoal
  let reader: Shoal
  let gw: string

  /** Share fresh random bytes on the seeder: content the reader does not hold. */
  async function freshShare (size: number, name = 'file.bin'): Promise<{ cid: string, bytes: Buffer }> {
    const bytes = randomBytes(size)
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}-${name}`)
    await fs.writeFile(file, bytes)
    const { cid } = await seeder.share(file)
    return { cid, bytes }
  }

  beforeAll(async () => {
    dir = await tempDir()
    seeder = await startNode(dir, 'seeder')
    reader = await createShoal({ repo: path.join(dir, 'reader'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, stallTimeoutMs: 3_000, resolveTimeoutMs: 2_000, readTimeoutMs: 4_000, gateway: '127.0.0.1:0' })
    await reader.start()
    await reader.connect(seeder.addrs()[0] ?? '')
    gw = (await reader.status()).gateway ?? ''
  })
  afterAll(async () => {
    await Promise.all([seeder?.stop(), reader?.stop()])
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('status names the gateway; files() reads the manifest alone', async () => {
    expect(gw).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const { cid, bytes } = await freshShare(3 * MiB + 5)
    const before = (await reader.status()).downloaded
    const files = await reader.files(cid)
    expect(files).toMatchObject({ cid, kind: 'file', size: bytes.length, held: 0, files: [{ path: '', size: bytes.length, held: 0 }] })
    expect((await reader.status()).downloaded).toBe(before)
  })

  it('answers a range of a file it does not hold with exactly those bytes (206), fetching little of the rest', async () => {
    const { cid, bytes } = await freshShare(40 * MiB)
    const start = 20 * MiB + 12345
    const res = await request(`${gw}/shoal/${cid}`, { range: `bytes=${start}-${start + 65535}` })
    expect(res.status).toBe(206)
    expect(res.headers['content-range']).toBe(`bytes ${start}-${start + 65535}/${bytes.length}`)
    expect(res.headers['content-length']).toBe('65536')
    expect(Buffer.compare(res.body, bytes.subarray(start, start + 65536))).toBe(0)
    const files = await reader.files(cid)
    expect(files.held).toBeGreaterThan(0)
    expect(files.held).toBeLessThanOrEqual(20 * MiB) // the window and its read-ahead, not the file
    // what it fetched stays, and is served: a HEAD says so without fetching
    const head = await request(`${gw}/shoal/${cid}/movie.mp4`, {}, 'HEAD')
    expect(head).toMatchObject({ status: 200 })
    expect(head.headers).toMatchObject({ 'content-type': 'video/mp4', 'content-length': String(bytes.length), 'accept-ranges': 'bytes' })
    expect(head.body.length).toBe(0)
    expect(head.headers.etag).toMatch(new RegExp(`^"${cid}\\.`))
    expect((await request(`${gw}/shoal/${cid}`, { 'if-none-match': head.headers.etag as string, range: 'bytes=0-0' })).status).toBe(304)
  })

  it('the whole file, then the embedding API: cat of a range, and a fetch that reuses what readers fetched', async () => {
    const { cid, bytes } = await freshShare(6 * MiB + 1)
    const part = await reader.cat(cid, undefined, { start: 1000, end: 3 * MiB })
    expect(part).toMatchObject({ size: bytes.length, start: 1000, length: 3 * MiB - 1000 })
    const got: Buffer[] = []
    for await (const c of part) got.push(Buffer.from(c))
    expect(Buffer.compare(Buffer.concat(got), bytes.subarray(1000, 3 * MiB))).toBe(0)
    const whole = await request(`${gw}/shoal/${cid}`)
    expect(whole.status).toBe(200)
    expect(Buffer.compare(whole.body, bytes)).toBe(0)
    const before = (await reader.status()).downloaded
    const out = path.join(dir, 'reused.bin')
    await reader.fetch(cid, { out })
    expect((await reader.status()).downloaded).toBe(before) // every chunk was already held
    expect(Buffer.compare(await fs.readFile(out), bytes)).toBe(0)
  })

  it('answers 400, 404, 405 and 416 with one line, and refuses other Host names', async () => {
    const { cid, bytes } = await freshShare(100_000)
    const cases: Array<[string, Record<string, string>, string, number]> = [
      [`/shoal/${cid}/a/b`, {}, 'GET', 404],
      ['/shoal/not-a-cid', {}, 'GET', 400],
      [`/shoal/${cid}/%2e%2e/etc/passwd`, {}, 'GET', 400],
      [`/shoal/${cid}/..%2f..%2fx`, {}, 'GET', 400],
      [`/shoal/${cid}`, { range: `bytes=${bytes.length}-` }, 'GET', 416],
      [`/shoal/${cid}`, { range: 'bytes=zz' }, 'GET', 400],
      [`/shoal/${cid}`, {}, 'POST', 405],
      ['/elsewhere', {}, 'GET', 404],
      [`/shoal/${cid}`, { host: 'evil.example' }, 'GET', 403],
      [`/shoal/${cid}`, { host: 'rebound.example:' + new URL(gw).port }, 'GET', 403]
    ]
    for (const [p, headers, method, status] of cases) {
      const res = await request(gw + p, headers, method)
      expect(res.status, `${method} ${p} ${JSON.stringify(headers)}`).toBe(status)
      expect(res.body.toString().trim().split('\n'), p).toHaveLength(1)
    }
    const multi = await request(`${gw}/shoal/${cid}`, { range: 'bytes=0-9,20-29' })
    expect(multi.status).toBe(200) // several ranges: the whole file
    expect(multi.body.length).toBe(bytes.length)
  })

  it('a page of another site never makes the node fetch; what it holds completely it may read', async () => {
    const { cid, bytes } = await freshShare(2 * MiB)
    const before = (await reader.status()).downloaded
    const pages: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.example' }, { referer: 'https://evil.example/x.html' }]
    for (const headers of pages) {
      const res = await request(`${gw}/shoal/${cid}`, headers)
      expect(res.status, JSON.stringify(headers)).toBe(403)
      expect(res.body.toString()).toMatch(/cross-site/)
    }
    expect((await reader.status()).downloaded).toBe(before)
    // the same URL opened directly fetches it; then another site's page may read it
    expect((await request(`${gw}/shoal/${cid}`, { 'sec-fetch-site': 'none' })).status).toBe(200)
    const cross = await request(`${gw}/shoal/${cid}`, { 'sec-fetch-site': 'cross-site', range: 'bytes=0-9' })
    expect(cross.status).toBe(206)
    expect(Buffer.compare(cross.body, bytes.subarray(0, 10))).toBe(0)
  })

  it('lists a directory share (HTML, or JSON on request) and serves its files', async () => {
    const tree = path.join(dir, 'tree')
    await fs.mkdir(path.join(tree, 'sub', 'empty'), { recursive: true })
    await fs.writeFile(path.join(tree, 'sub', 'a.txt'), 'hello gateway\n')
    await fs.writeFile(path.join(tree, 'b <&>.bin'), randomBytes(1000))
    const { cid } = await seeder.share(tree)
    const root = await request(`${gw}/shoal/${cid}/`)
    expect(root.status).toBe(200)
    expect(root.headers['content-type']).toMatch(/^text\/html/)
    expect(root.body.toString()).toContain('href="sub/"')
    expect(root.body.toString()).toContain('b &lt;&amp;&gt;.bin')
    const redirect = await request(`${gw}/shoal/${cid}/sub`)
    expect(redirect.status).toBe(301)
    expect(redirect.headers.location).toBe('sub/')
    const json = await request(`${gw}/shoal/${cid}/sub/`, { accept: 'application/json' })
    expect(JSON.parse(json.body.toString())).toEqual({ cid, path: 'sub', entries: [{ name: 'empty', type: 'dir' }, { name: 'a.txt', type: 'file', size: 14, held: 0 }] })
    const file = await request(`${gw}/shoal/${cid}/sub/a.txt`)
    expect(file).toMatchObject({ status: 200 })
    expect(file.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(file.body.toString()).toBe('hello gateway\n')
  })

  it('serves a thousand concurrent range requests, each exact', async () => {
    const { cid, bytes } = await freshShare(8 * MiB)
    const agent = new http.Agent({ maxSockets: 1000 })
    const ranges = Array.from({ length: 1000 }, (_, i) => {
      const start = (i * 7919 * 1031) % (bytes.length - 5000)
      return [start, start + (i % 5000)] as const
    })
    const replies = await Promise.all(ranges.map(async ([a, b]) => await request(`${gw}/shoal/${cid}`, { range: `bytes=${a}-${b}` }, 'GET', agent)))
    agent.destroy()
    replies.forEach((res, i) => {
      const [a, b] = ranges[i] as readonly [number, number]
      expect(res.status).toBe(206)
      expect(Buffer.compare(res.body, bytes.subarray(a, b + 1)), `range ${a}-${b}`).toBe(0)
    })
  })

  it('a client that disconnects mid-response does not hurt the node', async () => {
    const { cid, bytes } = await freshShare(24 * MiB)
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${gw}/shoal/${cid}`, res => {
        res.once('data', () => { req.destroy(); resolve() })
      })
      req.on('error', err => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err) })
    })
    const again = await request(`${gw}/shoal/${cid}`, { range: 'bytes=-100' })
    expect(again.status).toBe(206)
    expect(Buffer.compare(again.body, bytes.subarray(bytes.length - 100))).toBe(0)
  })

  it('a chunk whose only provider went away is a 504 after a bounded wait; the node goes on', async () => {
    const lone = await startNode(dir, 'lone')
    await reader.connect(lone.addrs()[0] ?? '')
    const bytes = randomBytes(40 * MiB)
    const file = path.join(dir, 'lone.bin')
    await fs.writeFile(file, bytes)
    const { cid } = await lone.share(file)
    const first = await request(`${gw}/shoal/${cid}`, { range: 'bytes=0-99' })
    expect(first.status).toBe(206)
    await lone.stop()
    const started = Date.now()
    const res = await request(`${gw}/shoal/${cid}`, { range: `bytes=${39 * MiB}-${39 * MiB + 99}` })
    expect(res.status).toBe(504)
    expect(res.body.toString()).toMatch(/gateway timeout: .*did not arrive/)
    // bounded by the reader's own limits (stall 3 s, resolve 2 s, read 4 s), well inside the test's 30 s
    expect(Date.now() - started).toBeLessThan(20_000)
    // unharmed: other content still comes, status answers
    const { cid: other, bytes: otherBytes } = await freshShare(1000)
    const ok = await request(`${gw}/shoal/${other}`)
    expect(Buffer.compare(ok.body, otherBytes)).toBe(0)
    await expect(reader.status()).resolves.toMatchObject({ peerId: reader.peerId })
  })

  it('local reads of what is not held are NOT_FOUND; a bad range is BAD_REQUEST', async () => {
    const { cid } = await freshShare(1000)
    await expect(reader.cat(cid, undefined, { local: true })).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND })
    await expect(reader.files(cid, { local: true })).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND })
    await expect(reader.cat(cid, undefined, { start: 10, end: 5 })).rejects.toMatchObject({ code: ErrorCode.BAD_REQUEST })
  })
})
