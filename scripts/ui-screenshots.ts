/**
 * Screenshots of the web UI's pages during a real 1 + 4 swarm on
 * 127.0.0.1, for the README: node 0 seeds a 128 MiB file (upload capped,
 * so that the swarm is still moving when the pictures are taken), nodes
 * 1–3 fetch it with the CLI, node 4 runs the UI (`--gateway`) and fetches
 * it from the UI by ticket. The pictures go to docs/ui/ (or --out DIR).
 *
 *   npm run build && npx tsx scripts/ui-screenshots.ts
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { Page } from 'puppeteer-core'
import { ROOT, cliJson, killChildren } from '../examples/support/cli-process.js'
import { startDaemon } from '../examples/support/daemon-process.js'
import type { DaemonProcess } from '../examples/support/daemon-process.js'
import { MiB, writeRandomFile } from '../examples/support/files.js'
import { launchBrowser } from '../examples/support/browser.js'

const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(ROOT, 'docs', 'ui') } } })
const outDir = path.resolve(values.out ?? 'docs/ui')
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-ui-shots-'))
const daemons: DaemonProcess[] = []
try {
  await fs.mkdir(outDir, { recursive: true })
  const file = path.join(dir, 'field-recording.flac')
  await writeRandomFile(file, 128 * MiB, 11)
  const photos = path.join(dir, 'photos')
  await fs.mkdir(photos)
  for (let i = 1; i <= 6; i++) await writeRandomFile(path.join(photos, `IMG_${2040 + i}.jpg`), (2 + i) * MiB, 20 + i)
  const seed = await startDaemon({ repo: path.join(dir, 'node0'), args: ['--max-upload', '10MiB/s'] })
  daemons.push(seed)
  const boot = seed.dialAddr()
  // the fetchers serve each other too, each capped a little lower than the seed
  for (let i = 1; i <= 3; i++) daemons.push(await startDaemon({ repo: path.join(dir, `node${i}`), bootstrap: [boot], args: ['--max-upload', '6MiB/s'] }))
  const viewer = await startDaemon({ repo: path.join(dir, 'node4'), bootstrap: [boot], args: ['--gateway', '127.0.0.1:0', '--max-upload', '6MiB/s'] })
  daemons.push(viewer)
  const shared = await cliJson<{ ticket: string, cid: string }>(['share', file, '--json', '--repo', seed.repo])
  await cliJson(['share', photos, '--json', '--repo', viewer.repo])
  const ui = await cliJson<{ loginUrl: string }>(['ui', '--print', '--json', '--repo', viewer.repo])
  for (let i = 1; i <= 3; i++) await cliJson(['fetch', shared.ticket, '--detach', '--json', '-o', path.join(dir, `copy${i}.flac`), '--repo', daemons[i]!.repo])

  const browser = await launchBrowser({ width: 1200, height: 620 })
  try {
    const page = await browser.browser.newPage()
    await page.goto(ui.loginUrl)
    await page.waitForSelector('#live.on')
    await page.type('#fetch-id', shared.ticket)
    await page.type('#fetch-out', path.join(dir, 'copy4.flac'))
    await page.click('button[data-action=fetch]')
    const card = `.transfer[data-cid="${shared.cid}"]`
    // a third of the way: the map shows all three states
    await page.waitForFunction((sel: string) => {
      const cells = [...document.querySelectorAll(`${sel} .cell`)]
      return cells.length > 0 && cells.filter(c => c.classList.contains('held')).length >= cells.length / 3
    }, { timeout: 120_000 }, card)
    await page.hover(`${card} .cell.held:nth-of-type(3n)`).catch(async () => { await page.hover(`${card} .cell.held`) })
    await shot(page, 'transfers')
    for (const name of ['peers', 'node', 'shares']) {
      await page.click(`a[data-page=${name}]`)
      await page.waitForSelector(`main[data-page=${name}] ${name === 'node' ? 'dl.facts' : 'table'}`)
      await shot(page, name)
    }
    // the page shown without the token (a fresh context: no cookie)
    const locked = await (await browser.browser.createBrowserContext()).newPage()
    await locked.goto(new URL(ui.loginUrl).origin + '/')
    await locked.waitForSelector('#locked')
    await shot(locked, 'locked')
  } finally {
    await browser.close()
  }
} finally {
  await Promise.allSettled(daemons.map(async d => await d.stop()))
  killChildren()
  await fs.rm(dir, { recursive: true, force: true })
}

async function shot (page: Page, name: string): Promise<void> {
  const file = path.join(outDir, `${name}.png`)
  await page.screenshot({ path: file as `${string}.png` })
  console.log(`${path.relative(ROOT, file)} (${Math.round((await fs.stat(file)).size / 1024)} KiB)`)
}
