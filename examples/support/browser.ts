/**
 * A real headless Chromium for the web UI's tests, benchmark and
 * screenshots: Debian's `chromium` (or `$CHROMIUM`), driven by
 * puppeteer-core, never a downloaded browser. Each launch gets a fresh
 * profile and the flags that keep Chromium off the network it cannot reach
 * here (updates, sync, QUIC, background requests).
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import puppeteer from 'puppeteer-core'
import type { Browser, Page } from 'puppeteer-core'

/** Where Chromium is: `$CHROMIUM`, else the first of Debian's and other usual paths that exists; undefined when none does. */
export function chromiumPath (env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => p !== undefined && p !== '')
  return candidates.find(p => fs.existsSync(p))
}

/** A launched browser and the profile directory it removes on close. */
export interface UiBrowser {
  browser: Browser
  close(): Promise<void>
}

/** Launch headless Chromium with a fresh profile (throws when there is none: check `chromiumPath()` first). */
export async function launchBrowser (options: { width?: number, height?: number } = {}): Promise<UiBrowser> {
  const executablePath = chromiumPath()
  if (executablePath === undefined) throw new Error('no chromium found (apt-get install chromium, or set CHROMIUM)')
  const profile = await fsp.mkdtemp(path.join(os.tmpdir(), 'shoal-chromium-'))
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // a first start on a loaded 2-core machine was seen to take over puppeteer's default 30 s
    timeout: 120_000,
    defaultViewport: { width: options.width ?? 1280, height: options.height ?? 860 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', `--user-data-dir=${profile}`
    ]
  })
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => {})
      await fsp.rm(profile, { recursive: true, force: true })
    }
  }
}

/** Everything a page reported that a test should fail on: script errors, CSP violations, console errors. */
export function watchProblems (page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', err => { problems.push(`page error: ${(err as Error).message}`) })
  page.on('console', msg => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`) })
  return problems
}
