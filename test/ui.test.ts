/**
 * The web UI in a real headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core), against real daemons and the real CLI: the token URL
 * that `shoal ui` prints, a share made by `shoal share` in another process
 * appearing live, a fetch started from the UI whose chunk map fills while
 * it is paused and resumed, and requests without the token or from another
 * origin refused — by plain HTTP and by a page of another origin in the
 * same browser. Synchronised on page selectors and daemon state, no sleeps.
 */
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'puppeteer-core'
import { chromiumPath, launchBrowser, watchProblems } from '../examples/support/browser.js'
import type { UiBrowser } from '../examples/support/browser.js'
import { sha256File, shareFile, shoal, startDaemon, stopAll, tempDir, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024
const chromium = chromiumPath()
if (chromium === undefined) console.warn('test/ui.test.ts: skipped, no chromium on this machine (apt-get install chromium; .ci/run does)')

interface Reply { status: number, headers: http.IncomingHttpHeaders, body: string }

async function request (url: string, options: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Reply> {
  return await new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }) })
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Cells of the transfer's chunk map in each state. */
async function cells (page: Page, cid: string): Promise<{ all: number, held: number, flight: number }> {
  return await page.$$eval(`.transfer[data-cid="${cid}"] .chunkmap .cell`, els => ({
    all: els.length,
    held: els.filter(e => e.classList.contains('held')).length,
    flight: els.filter(e => e.classList.contains('flight')).length
  }))
}

describe.runIf(chromium !== undefined)('the web UI in a real browser', () => {
  let dir: string
  let seeder: Daemon
  let viewer: Daemon
  let browser: UiBrowser
  let page: Page
  let problems: string[]
  let loginUrl: string
  let base: string
  let cookie: string
  const apiGets: string[] = []
  let eventStreams = 0

  beforeAll(async () => {
    dir = await tempDir('shoal-ui-')
    // capped, so that the fetch lasts long enough to pause and resume it
    seeder = await startDaemon(path.join(dir, 'seeder'), ['--max-upload', '3MiB/s'])
    viewer = await startDaemon(path.join(dir, 'viewer'), ['--gateway', '127.0.0.1:0'])
    const ui = await viewer.cli(['ui', '--print', '--json'])
    expect(ui.code, ui.stderr).toBe(0)
    ;({ loginUrl } = JSON.parse(ui.stdout) as { loginUrl: string })
    base = new URL(loginUrl).origin
    browser = await launchBrowser()
    page = await browser.browser.newPage()
    // a loaded CI machine runs the daemons, the CLI and Chromium on 2 cores: waits on page events get room
    page.setDefaultTimeout(90_000)
    problems = watchProblems(page)
    page.on('request', r => {
      const u = new URL(r.url())
      if (u.pathname === '/ui/api/v1/events') eventStreams++
      else if (u.pathname.startsWith('/ui/api/') && r.method() === 'GET') apiGets.push(u.pathname)
    })
  })

  afterAll(async () => {
    await browser?.close()
    await stopAll()
    if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true })
  })

  it('shoal ui prints the URL with the token; the token is in the repo, 0600', async () => {
    const printed = await viewer.cli(['ui', '--print'])
    expect(printed.code).toBe(0)
    expect(printed.stdout.trim()).toBe(loginUrl)
    const token = (await fs.readFile(path.join(viewer.repo, 'ui-token'), 'utf8')).trim()
    expect(loginUrl).toBe(`${base}/?token=${token}`)
    expect((await fs.stat(path.join(viewer.repo, 'ui-token'))).mode & 0o777).toBe(0o600)
  })

  it('loads with the token, keeps it in an HttpOnly SameSite=Strict cookie, and drops it from the address bar', async () => {
    const reply = await page.goto(loginUrl)
    expect(reply?.status()).toBe(200)
    const csp = reply?.headers()['content-security-policy'] ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    await page.waitForSelector('#live.on')
    expect(page.url()).toBe(`${base}/`)
    const [c] = (await page.cookies()).filter(k => k.name.startsWith('shoal-ui-'))
    expect(c?.httpOnly).toBe(true)
    expect(c?.sameSite).toBe('Strict')
    cookie = `${c?.name}=${c?.value}`
  })

  it('shows a share made by `shoal share` in another process', async () => {
    await page.click('a[data-page=shares]')
    await page.waitForSelector('main[data-page=shares]')
    const file = path.join(dir, 'notes.txt')
    await fs.writeFile(file, 'shared from the command line\n')
    const { cid } = await shareFile(viewer, file)
    await page.waitForSelector(`table.shares tr[data-cid="${cid}"]`)
    const row = await page.$eval(`table.shares tr[data-cid="${cid}"]`, e => e.textContent ?? '')
    expect(row).toContain('notes.txt')
    expect(await page.$(`tr[data-cid="${cid}"] button[data-copy=ticket]`)).not.toBeNull()
  })

  it('fetches a multi-chunk file from the UI; its chunk map fills through a pause and a resume', async () => {
    const file = path.join(dir, 'movie.bin')
    await writeRandomFile(file, 24 * MiB + 5, 7)
    const { cid, ticket } = await shareFile(seeder, file)
    const out = path.join(dir, 'downloads', 'movie.bin')
    await page.click('a[data-page=transfers]')
    await page.waitForSelector('#fetch-id')
    await page.type('#fetch-id', ticket)
    await page.type('#fetch-out', out)
    await page.click('button[data-action=fetch]')
    const card = `.transfer[data-cid="${cid}"]`
    await page.waitForSelector(`${card} .chunkmap .cell.held`)
    expect((await cells(page, cid)).all).toBe(25)
    // hovering a held cell names the peer that sent it
    await page.hover(`${card} .chunkmap .cell.held`)
    await page.waitForFunction((sel: string) => document.querySelector(sel)?.textContent?.includes('sent by 12D3KooW') === true, {}, `${card} .cellinfo`)

    await page.click(`${card} button[data-action=pause]`)
    await page.waitForSelector(`${card}[data-state=paused]`)
    const listed = JSON.parse((await viewer.cli(['ls', '--json'])).stdout) as { downloads: Array<{ cid: string, state: string, chunksDone: number }> }
    const paused = listed.downloads.find(d => d.cid === cid)
    expect(paused?.state).toBe('paused')
    await page.waitForFunction((sel: string) => document.querySelectorAll(`${sel} .cell.flight`).length === 0, {}, card)
    const kept = await cells(page, cid)
    expect(kept.held).toBeGreaterThan(0)
    expect(kept.held).toBeLessThan(25)

    await page.click(`${card} button[data-action=resume]`)
    await page.waitForSelector(`${card}[data-state=active]`)
    await page.waitForSelector(`${card}[data-state=done]`, { timeout: 90_000 })
    expect(await cells(page, cid)).toEqual({ all: 25, held: 25, flight: 0 })
    expect(await sha256File(out)).toBe(await sha256File(file))
  })

  it('fetches only the files picked from the share\'s list, and unshares from the page', async () => {
    page.on('dialog', d => { void d.accept() }) // the page asks before it cancels or unshares
    const tree = path.join(dir, 'album')
    await fs.mkdir(path.join(tree, 'b-sides'), { recursive: true })
    await writeRandomFile(path.join(tree, 'one [live].flac'), 3 * MiB + 1, 21)
    await writeRandomFile(path.join(tree, 'two.flac'), 2 * MiB, 22)
    await writeRandomFile(path.join(tree, 'b-sides', 'three.flac'), 2 * MiB, 23)
    const { cid, ticket } = await shareFile(seeder, tree)
    const out = path.join(dir, 'picked')
    await page.click('a[data-page=transfers]')
    await page.waitForSelector('#fetch-id')
    await page.type('#fetch-id', ticket)
    await page.click('#fetch-out', { count: 3 }) // the field keeps the last path: replace it
    await page.type('#fetch-out', out)
    await page.click('button[data-action=list-files]')
    await page.waitForSelector('fieldset.picker input[name=only]')
    expect(await page.$$eval('fieldset.picker input[name=only]', els => els.map(e => (e as HTMLInputElement).value).sort())).toEqual(['b-sides/three.flac', 'one [live].flac', 'two.flac'])
    // keep only the file whose name holds glob characters
    await page.click('fieldset.picker input[value="two.flac"]')
    await page.click('fieldset.picker input[value="b-sides/three.flac"]')
    await page.click('button[data-action=fetch]')
    await page.waitForSelector(`.transfer[data-cid="${cid}"]`)
    const doneOnDisk = async (): Promise<string[]> => (await fs.readdir(out, { recursive: true })).map(String).sort()
    await page.waitForSelector(`.transfer[data-cid="${cid}"][data-state=done]`, { timeout: 60_000 })
    expect(await doneOnDisk()).toEqual(['one [live].flac'])
    expect(await sha256File(path.join(out, 'one [live].flac'))).toBe(await sha256File(path.join(tree, 'one [live].flac')))

    // a partial share: cancel forgets what it holds
    const listed = JSON.parse((await viewer.cli(['ls', '--json'])).stdout) as { shares: Array<{ cid: string, partial: boolean }> }
    expect(listed.shares.find(x => x.cid === cid)?.partial).toBe(true)
    await page.click('a[data-page=shares]')
    await page.waitForSelector(`table.shares tr[data-cid="${cid}"]`)
    await page.click(`table.shares tr[data-cid="${cid}"] button[data-action=unshare]`)
    await page.waitForFunction((sel: string) => document.querySelector(sel) === null, {}, `table.shares tr[data-cid="${cid}"]`)
    const after = JSON.parse((await viewer.cli(['ls', '--json'])).stdout) as { shares: Array<{ cid: string }> }
    expect(after.shares.map(x => x.cid)).not.toContain(cid)
  })

  it('cancels a download from the page: it goes, with its .part file', async () => {
    const file = path.join(dir, 'long.bin')
    await writeRandomFile(file, 48 * MiB, 31)
    const { cid, ticket } = await shareFile(seeder, file)
    const out = path.join(dir, 'long-copy.bin')
    await page.click('a[data-page=transfers]')
    await page.waitForSelector('#fetch-id')
    await page.type('#fetch-id', ticket)
    await page.click('#fetch-out', { count: 3 })
    await page.type('#fetch-out', out)
    await page.click('button[data-action=fetch]')
    const card = `.transfer[data-cid="${cid}"]`
    await page.waitForSelector(`${card}[data-state=active] .chunkmap .cell.held`)
    await page.click(`${card} button[data-action=cancel]`)
    await page.waitForFunction((sel: string) => document.querySelector(sel) === null, {}, card)
    const listed = JSON.parse((await viewer.cli(['ls', '--json'])).stdout) as { downloads: Array<{ cid: string }> }
    expect(listed.downloads.map(d => d.cid)).not.toContain(cid)
    await expect(fs.stat(`${out}.part`)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('uses one event stream and no polling', () => {
    expect(eventStreams).toBe(1)
    // the only GETs the page made besides its event stream: the file list it was asked for
    expect(apiGets.filter(p => !p.startsWith('/ui/api/v1/files/'))).toEqual([])
    expect(problems).toEqual([])
  })

  it('refuses requests without the token', async () => {
    const page0 = await request(`${base}/`)
    expect(page0.status).toBe(403)
    expect(page0.body).toContain('shoal ui')
    expect(page0.body).not.toContain('<script')
    expect((await request(`${base}/?token=not-the-token`)).status).toBe(403)
    const status = await request(`${base}/ui/api/v1/status`)
    expect(status.status).toBe(403)
    expect(JSON.parse(status.body)).toMatchObject({ error: { code: 'FORBIDDEN' } })
    expect((await request(`${base}/ui/api/v1/events`)).status).toBe(403)
    expect((await request(`${base}/ui/api/v1/status`, { headers: { cookie } })).status).toBe(200)
    // the gateway's Host check guards the UI too (DNS rebinding): even with the cookie
    expect((await request(`${base}/ui/api/v1/status`, { headers: { cookie, host: `rebind.example:${new URL(base).port}` } })).status).toBe(403)
    expect((await request(`${base}/`, { headers: { cookie, host: 'rebind.example' } })).status).toBe(403)
  })

  it('refuses state changes from another origin, or without a JSON body, even with the cookie', async () => {
    const secret = path.join(dir, 'secret.txt')
    await fs.writeFile(secret, 'not for sharing\n')
    const body = JSON.stringify({ path: secret })
    const json = { cookie, 'content-type': 'application/json' }
    for (const headers of [{ ...json }, { ...json, origin: 'http://evil.example' }, { ...json, origin: `${base}`, 'sec-fetch-site': 'cross-site' }, { cookie, origin: base, 'content-type': 'text/plain' }]) {
      const r = await request(`${base}/ui/api/v1/shares`, { method: 'POST', headers, body })
      expect(r.status, JSON.stringify(headers)).toBe(403)
    }
    // the control routes the UI has no use for are not there at all
    expect((await request(`${base}/ui/api/v1/stop`, { method: 'POST', headers: { cookie, origin: base } })).status).toBe(404)
    expect((await request(`${base}/ui/api/v1/ui`, { headers: { cookie } })).status).toBe(404)

    // a page of another origin in the same browser (which holds the cookie) tries it too
    const evil = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><script>
        fetch(${JSON.stringify(`${base}/ui/api/v1/shares`)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(body)} })
          .finally(() => { document.title = 'sent' })
      </script>`)
    })
    await new Promise<void>(resolve => { evil.listen(0, '127.0.0.1', resolve) })
    try {
      const other = await browser.browser.newPage()
      await other.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`)
      await other.waitForFunction(() => document.title === 'sent')
      await other.close()
    } finally {
      evil.close()
    }
    const { shares } = JSON.parse((await viewer.cli(['ls', '--json'])).stdout) as { shares: Array<{ path: string }> }
    expect(shares.map(s => s.path)).not.toContain(secret)
  })

  it('shoal ui: a daemon without a gateway says so; no daemon is exit 3', async () => {
    const noUi = await seeder.cli(['ui', '--print'])
    expect(noUi.code).toBe(1)
    expect(noUi.stderr).toContain('UI_UNAVAILABLE')
    expect(noUi.stderr).toContain('--gateway')
    const none = await shoal(['ui', '--print', '--repo', path.join(dir, 'nobody')])
    expect(none.code).toBe(3)
    const typo = await shoal(['ui', '--prnt', '--repo', viewer.repo])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toContain('did you mean --print?')
    expect(typo.stdout).toBe('')
  })
})
