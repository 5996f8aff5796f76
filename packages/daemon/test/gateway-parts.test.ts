import type http from 'node:http'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@shoal/protocol'
import type { FilesResult } from '@shoal/protocol'
import { hostAllowed } from '../src/http/host-check.js'
import { parseGatewayPath } from '../src/http/gateway/gateway-path.js'
import { entriesOf, listingHtml } from '../src/http/gateway/listing.js'
import { parseRange } from '../src/http/gateway/ranges.js'
import { isCrossSite } from '../src/http/gateway/request-site.js'
import { contentType } from '../src/http/gateway/shoal-gateway.js'
import { Slots } from '../src/slots.js'

describe('Range headers', () => {
  const size = 1000
  it('one range: a-b, a-, -n, clamped to the file', () => {
    expect(parseRange(undefined, size)).toEqual({ kind: 'whole' })
    expect(parseRange('bytes=0-0', size)).toEqual({ kind: 'single', start: 0, end: 1 })
    expect(parseRange('bytes=10-19', size)).toEqual({ kind: 'single', start: 10, end: 20 })
    expect(parseRange('bytes=990-', size)).toEqual({ kind: 'single', start: 990, end: 1000 })
    expect(parseRange('bytes=990-5000', size)).toEqual({ kind: 'single', start: 990, end: 1000 })
    expect(parseRange('bytes=-10', size)).toEqual({ kind: 'single', start: 990, end: 1000 })
    expect(parseRange('bytes=-5000', size)).toEqual({ kind: 'single', start: 0, end: 1000 })
    expect(parseRange(' Bytes = 5-6 ', size)).toEqual({ kind: 'single', start: 5, end: 7 })
  })
  it('nothing of the file is 416; several ranges are the whole file (200)', () => {
    expect(parseRange('bytes=1000-', size)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-0', size)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-1,5-6', size)).toEqual({ kind: 'whole' })
    expect(parseRange('bytes=2000-,3000-', size)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-5', 0)).toEqual({ kind: 'whole' }) // an empty file
    expect(parseRange('items=0-5', size)).toEqual({ kind: 'whole' }) // another unit: ignored
  })
  it('bad syntax is malformed (400)', () => {
    for (const bad of ['bytes=', 'bytes=-', 'bytes=abc', 'bytes=5-1', 'bytes=1-2-3', 'garbage', 'bytes=99999999999999999999-']) {
      expect(parseRange(bad, size), bad).toEqual({ kind: 'malformed' })
    }
  })
})

describe('gateway paths', () => {
  const P = '/shoal/'
  it('splits the id from the path inside the share, decoding each segment', () => {
    expect(parseGatewayPath('/shoal/bafy', P)).toEqual({ id: 'bafy', rel: '', depth: 0, trailingSlash: false })
    expect(parseGatewayPath('/shoal/bafy/', P)).toEqual({ id: 'bafy', rel: '', depth: 0, trailingSlash: true })
    expect(parseGatewayPath('/shoal/bafy/a%20b/c.txt', P)).toEqual({ id: 'bafy', rel: 'a b/c.txt', depth: 2, trailingSlash: false })
  })
  it('refuses traversal, encoded or not, NUL, backslashes and empty segments', () => {
    for (const bad of ['/shoal/bafy/../x', '/shoal/bafy/%2e%2e/x', '/shoal/bafy/%2E%2E', '/shoal/bafy/./x', '/shoal/bafy/a%2fb', '/shoal/bafy/a%00b', '/shoal/bafy/a%5cb', '/shoal/bafy//x', '/shoal/bafy/%zz']) {
      expect(() => parseGatewayPath(bad, P), bad).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }))
    }
    expect(() => parseGatewayPath('/shoal/', P)).toThrow(expect.objectContaining({ code: ErrorCode.NOT_FOUND }))
  })
})

describe('the Host check', () => {
  it('accepts the bound address and loopback names with the port', () => {
    expect(hostAllowed('127.0.0.1:8080', '127.0.0.1', 8080)).toBe(true)
    expect(hostAllowed('localhost:8080', '127.0.0.1', 8080)).toBe(true)
    expect(hostAllowed('LOCALHOST:8080', '127.0.0.1', 8080)).toBe(true)
    expect(hostAllowed('[::1]:8080', '127.0.0.1', 8080)).toBe(true)
    expect(hostAllowed('app.localhost:8080', '127.0.0.1', 8080)).toBe(true)
    expect(hostAllowed('[::1]:8080', '::1', 8080)).toBe(true)
    expect(hostAllowed('127.0.0.1', '127.0.0.1', 80)).toBe(true)
  })
  it('refuses other names (DNS rebinding), other ports, garbage', () => {
    expect(hostAllowed('evil.example:8080', '127.0.0.1', 8080)).toBe(false)
    expect(hostAllowed('127.0.0.1.nip.io:8080', '127.0.0.1', 8080)).toBe(false)
    expect(hostAllowed('127.0.0.1:9999', '127.0.0.1', 8080)).toBe(false)
    expect(hostAllowed('127.0.0.1', '127.0.0.1', 8080)).toBe(false)
    expect(hostAllowed(undefined, '127.0.0.1', 8080)).toBe(false)
    expect(hostAllowed('a b:8080', '127.0.0.1', 8080)).toBe(false)
    expect(hostAllowed('192.168.1.5:8080', '127.0.0.1', 8080)).toBe(false)
  })
  it('bound to every interface: any IP literal, still no other names', () => {
    expect(hostAllowed('192.168.1.5:8080', '0.0.0.0', 8080)).toBe(true)
    expect(hostAllowed('[fe80::1]:8080', '::', 8080)).toBe(true)
    expect(hostAllowed('evil.example:8080', '0.0.0.0', 8080)).toBe(false)
  })
})

describe('cross-site requests', () => {
  const own = new Set(['http://127.0.0.1:8080', 'http://localhost:8080'])
  const req = (headers: Record<string, string>): http.IncomingMessage => ({ headers } as unknown as http.IncomingMessage)
  it('Fetch Metadata decides when present', () => {
    expect(isCrossSite(req({ 'sec-fetch-site': 'cross-site' }), own)).toBe(true)
    expect(isCrossSite(req({ 'sec-fetch-site': 'same-origin' }), own)).toBe(false)
    expect(isCrossSite(req({ 'sec-fetch-site': 'none' }), own)).toBe(false)
    expect(isCrossSite(req({ 'sec-fetch-site': 'same-site', origin: 'http://x.example' }), own)).toBe(false)
  })
  it('else an Origin or Referer of another origin; nothing at all is a direct request', () => {
    expect(isCrossSite(req({}), own)).toBe(false)
    expect(isCrossSite(req({ origin: 'https://evil.example' }), own)).toBe(true)
    expect(isCrossSite(req({ origin: 'null' }), own)).toBe(true)
    expect(isCrossSite(req({ origin: 'http://localhost:8080' }), own)).toBe(false)
    expect(isCrossSite(req({ referer: 'https://evil.example/page.html' }), own)).toBe(true)
    expect(isCrossSite(req({ referer: 'http://127.0.0.1:8080/shoal/x/' }), own)).toBe(false)
  })
})

describe('listings and types', () => {
  const files: FilesResult = {
    cid: 'bafy',
    name: 'tree',
    kind: 'dir',
    size: 6,
    held: 3,
    files: [{ path: 'a/b.txt', size: 3, held: 3 }, { path: 'a/c/d.bin', size: 3, held: 0 }, { path: 'top.txt', size: 0, held: 0 }],
    dirs: ['a/empty', 'e']
  }
  it('lists one level, directories first; undefined for a path that is no directory', () => {
    expect(entriesOf(files, '')).toEqual([{ name: 'a', type: 'dir' }, { name: 'e', type: 'dir' }, { name: 'top.txt', type: 'file', size: 0, held: 0 }])
    expect(entriesOf(files, 'a')).toEqual([{ name: 'c', type: 'dir' }, { name: 'empty', type: 'dir' }, { name: 'b.txt', type: 'file', size: 3, held: 3 }])
    expect(entriesOf(files, 'e')).toEqual([])
    expect(entriesOf(files, 'nope')).toBeUndefined()
  })
  it('escapes names in HTML', () => {
    const html = listingHtml('bafy', '', [{ name: '<script>"x"', type: 'file', size: 1, held: 1 }])
    expect(html).not.toContain('<script>')
    expect(html).toContain('&lt;script&gt;&quot;x&quot;')
    expect(html).toContain('href="%3Cscript%3E%22x%22"')
  })
  it('Content-Type from the extension', () => {
    expect(contentType('movie.mp4')).toBe('video/mp4')
    expect(contentType('a.txt')).toBe('text/plain; charset=utf-8')
    expect(contentType('index.html')).toBe('text/html; charset=utf-8')
    expect(contentType('noext')).toBe('application/octet-stream')
  })
})

describe('stream slots', () => {
  it('grants at most max at once, in arrival order; an abort leaves the queue', async () => {
    const slots = new Slots(2)
    const a = await slots.acquire()
    const b = await slots.acquire()
    const order: string[] = []
    const c = slots.acquire().then(r => { order.push('c'); return r })
    const ac = new AbortController()
    const d = slots.acquire(ac.signal).then(() => 'granted', () => 'aborted')
    const e = slots.acquire().then(r => { order.push('e'); return r })
    ac.abort(new Error('gone'))
    expect(await d).toBe('aborted')
    a()
    const releaseC = await c
    b()
    await e
    expect(order).toEqual(['c', 'e'])
    releaseC()
  })
})
