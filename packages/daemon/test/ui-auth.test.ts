/**
 * The web UI's gatekeeping alone: the token file, token and cookie checks,
 * the Origin / Fetch Metadata / content-type rules for state changes, the
 * CSP, and which control routes the UI may call. Browser end to end:
 * test/ui.test.ts.
 */
import fs from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadOrCreateUiToken } from '../src/repo/ui-token.js'
import { UiAuth, cookiesOf, uiCookieName } from '../src/http/ui/ui-auth.js'
import { UI_CSP, pageHeaders } from '../src/http/ui/ui-headers.js'
import { uiMayCall } from '../src/http/ui/ui-routes.js'
import { tempDir } from './helpers.js'

const TOKEN = 'a'.repeat(43)
const OWN = new Set(['http://127.0.0.1:8080', 'http://localhost:8080'])

function req (method: string, headers: Record<string, string>): http.IncomingMessage {
  return { method, headers } as unknown as http.IncomingMessage
}

describe('the UI token file', () => {
  it('is made on first use, 0600, and the same afterwards', async () => {
    const dir = await tempDir()
    const token = await loadOrCreateUiToken(dir)
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await fs.stat(path.join(dir, 'ui-token'))).mode & 0o777).toBe(0o600)
    expect(await loadOrCreateUiToken(dir)).toBe(token)
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('tightens a looser mode, and refuses a file that holds no token', async () => {
    const dir = await tempDir()
    const file = path.join(dir, 'ui-token')
    await fs.writeFile(file, `${TOKEN}\n`, { mode: 0o644 })
    await fs.chmod(file, 0o644)
    expect(await loadOrCreateUiToken(dir)).toBe(TOKEN)
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    await fs.writeFile(file, 'short')
    await expect(loadOrCreateUiToken(dir)).rejects.toMatchObject({ code: 'REPO_INVALID' })
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('two tokens made at once by two callers are the same one', async () => {
    const dir = await tempDir()
    const [a, b] = await Promise.all([loadOrCreateUiToken(dir), loadOrCreateUiToken(dir)])
    expect(a).toBe(b)
    await fs.rm(dir, { recursive: true, force: true })
  })
})

describe('UiAuth', () => {
  const auth = new UiAuth(TOKEN, uiCookieName('12D3KooWAbcdefghijklmnop'))

  it('matches the token exactly', () => {
    expect(auth.tokenMatches(TOKEN)).toBe(true)
    for (const wrong of [undefined, null, '', TOKEN.slice(1), `${TOKEN}a`, 'b'.repeat(43)]) expect(auth.tokenMatches(wrong)).toBe(false)
  })

  it('names the cookie after the node, and sets it HttpOnly, SameSite=Strict, for the whole server', () => {
    expect(auth.cookieName).toBe('shoal-ui-ghijklmnop')
    const set = auth.setCookie(TOKEN)
    expect(set).toMatch(/^shoal-ui-ghijklmnop=a{43}; /)
    expect(set).toContain('HttpOnly')
    expect(set).toContain('SameSite=Strict')
    expect(set).toContain('Path=/')
  })

  it('reads cookies: its own among others, the first of a repeated name', () => {
    expect(cookiesOf('x=1; shoal-ui-ghijklmnop=abc; y=2').get('shoal-ui-ghijklmnop')).toBe('abc')
    expect(cookiesOf('a=1; a=2').get('a')).toBe('1')
    expect(cookiesOf(undefined).size).toBe(0)
    expect(auth.hasCookie(req('GET', { cookie: `other=1; ${auth.cookieName}=${TOKEN}` }))).toBe(true)
    expect(auth.hasCookie(req('GET', { cookie: `shoal-ui-someoneelse=${TOKEN}` }))).toBe(false)
  })

  const cookie = `${auth.cookieName}=${TOKEN}`
  const post = { cookie, origin: 'http://127.0.0.1:8080', 'content-type': 'application/json', 'content-length': '12' }

  it('lets GET in with the cookie unless another site made the request', () => {
    expect(auth.refusal(req('GET', {}), OWN)).toMatch(/no UI token/)
    expect(auth.refusal(req('GET', { cookie }), OWN)).toBeUndefined()
    expect(auth.refusal(req('GET', { cookie, 'sec-fetch-site': 'same-origin' }), OWN)).toBeUndefined()
    expect(auth.refusal(req('GET', { cookie, 'sec-fetch-site': 'none' }), OWN)).toBeUndefined()
    // another port of the same host is the same *site*: SameSite=Strict still sends the cookie
    expect(auth.refusal(req('GET', { cookie, 'sec-fetch-site': 'same-site' }), OWN)).toMatch(/another site/)
    expect(auth.refusal(req('GET', { cookie, 'sec-fetch-site': 'cross-site' }), OWN)).toMatch(/another site/)
  })

  it('lets a state change in only from its own origin, with a JSON body', () => {
    expect(auth.refusal(req('POST', post), OWN)).toBeUndefined()
    expect(auth.refusal(req('DELETE', { cookie, origin: 'http://localhost:8080' }), OWN)).toBeUndefined()
    expect(auth.refusal(req('POST', { ...post, origin: 'http://192.0.2.1:8080', host: '192.0.2.1:8080' }), OWN)).toBeUndefined() // its own Host (bound to 0.0.0.0)
    expect(auth.refusal(req('POST', { ...post, cookie: '' }), OWN)).toMatch(/no UI token/)
    const { origin: _origin, ...noOrigin } = post
    expect(auth.refusal(req('POST', noOrigin), OWN)).toMatch(/needs an Origin/)
    expect(auth.refusal(req('POST', { ...post, origin: 'http://127.0.0.1:9999' }), OWN)).toMatch(/another origin/)
    expect(auth.refusal(req('POST', { ...post, origin: 'null' }), OWN)).toMatch(/another origin/)
    expect(auth.refusal(req('POST', { ...post, 'sec-fetch-site': 'same-site' }), OWN)).toMatch(/another site/)
    expect(auth.refusal(req('POST', { ...post, 'content-type': 'text/plain' }), OWN)).toMatch(/not application\/json/)
    expect(auth.refusal(req('POST', { ...post, 'content-type': 'application/x-www-form-urlencoded' }), OWN)).toMatch(/not application\/json/)
  })
})

describe('the UI pages and API', () => {
  it('has a strict CSP: own script and style only, no inline, no framing', () => {
    expect(UI_CSP).toContain("default-src 'none'")
    expect(UI_CSP).toContain("script-src 'self'")
    expect(UI_CSP).toContain("style-src 'self'")
    expect(UI_CSP).toContain("frame-ancestors 'none'")
    expect(UI_CSP).not.toMatch(/unsafe-|\*|data:|https?:/)
    expect(pageHeaders()).toMatchObject({ 'x-frame-options': 'DENY', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
  })

  it('calls only the control routes it needs', () => {
    const cid = 'bafyreih66ngdo77qvwfldm4y7jaeu2who2qikhx6ugq3rkh6qlqbeqjsla'
    for (const [m, p] of [['GET', '/v1/status'], ['GET', '/v1/events'], ['GET', '/v1/ls'], ['GET', `/v1/files/${cid}`], ['GET', `/v1/downloads/${cid}/chunks`], ['POST', '/v1/fetch'], ['POST', '/v1/shares'], ['POST', `/v1/downloads/${cid}/pause`], ['DELETE', `/v1/downloads/${cid}`], ['DELETE', `/v1/shares/${cid}`]]) {
      expect(uiMayCall(m as string, p as string), `${m} ${p}`).toBe(true)
    }
    for (const [m, p] of [['POST', '/v1/stop'], ['GET', '/v1/ui'], ['GET', `/v1/cat/${cid}`], ['DELETE', '/v1/fetch'], ['GET', '/v1/downloads/../stop'], ['POST', '/v1/downloads/a%2Fb/pause'], ['GET', '/v1/status/'], ['PUT', '/v1/shares']]) {
      expect(uiMayCall(m as string, p as string), `${m} ${p}`).toBe(false)
    }
  })
})
