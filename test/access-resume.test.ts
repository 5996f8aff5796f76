/**
 * Nothing lost on a crash: a selective fetch and the chunks a reader
 * fetched through the gateway survive `kill -9` of the daemon, and what
 * was verified and recorded is not fetched again.
 */
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { within } from '../examples/support/cli-process.js'
import { EventProcess } from '../examples/support/daemon-process.js'
import { CLI, sha256File, shareFile, startDaemon, stopAll, tempDir, treeDigest, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024

async function status (d: Daemon): Promise<{ uploaded: number, downloaded: number }> {
  return JSON.parse((await d.cli(['status', '--json'])).stdout) as { uploaded: number, downloaded: number }
}

describe('selective and reader downloads resume after kill -9', () => {
  let dir: string
  let seeder: Daemon
  let tree: string
  let cid: string

  beforeAll(async () => {
    dir = await tempDir()
    tree = path.join(dir, 'share')
    await fs.mkdir(tree, { recursive: true })
    await writeRandomFile(path.join(tree, 'big.bin'), 48 * MiB + 5, 31)
    await writeRandomFile(path.join(tree, 'other.bin'), 8 * MiB, 32)
    // capped, so the downloads are still running when the daemons are killed
    seeder = await startDaemon(path.join(dir, 'seeder'), ['--max-upload', '12MiB/s'])
    ;({ cid } = await shareFile(seeder, tree))
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('a fetch --only killed midway resumes at the next start and fetches only the rest', async () => {
    const repo = path.join(dir, 'picker')
    const into = path.join(dir, 'picked') + '/'
    let picker = await startDaemon(repo, ['--bootstrap', seeder.addrs[0] ?? ''])
    const before = (await status(seeder)).uploaded
    const fetch = new EventProcess(process.execPath, [CLI, 'fetch', cid, '--only', 'big.bin', '-o', into, '--json', '--repo', repo], { name: 'fetch' })
    await fetch.waitForEvent(e => e.type === 'progress' && Number(e.received) >= 20 * MiB, { timeoutMs: 60_000 })
    await picker.kill('SIGKILL')
    if (await within(fetch.exited, 60_000) === 'timeout') throw new Error('the fetch did not end within 60 s of its daemon\'s kill -9')
    picker = await startDaemon(repo, ['--bootstrap', seeder.addrs[0] ?? ''])
    // resumed by itself; a fetch of the same selection attaches to it
    const res = await picker.cli(['fetch', cid, '--only', 'big.bin', '-o', into])
    expect(res.code, res.stderr).toBe(0)
    const out = path.join(dir, 'picked', 'share')
    expect(await treeDigest(path.join(dir, 'picked'))).toEqual({ share: 'dir', 'share/big.bin': await sha256File(path.join(tree, 'big.bin')) })
    // what was recorded before the kill was not asked for again (at most the chunks since the last flush)
    expect((await status(seeder)).uploaded - before).toBeLessThan(48 * MiB + 5 + 17 * MiB)
    await expect(fs.access(`${out}.part`)).rejects.toThrow()
  })

  it('chunks a reader fetched through the gateway are kept across kill -9, served, and reused', async () => {
    const repo = path.join(dir, 'viewer')
    let viewer = await startDaemon(repo, ['--gateway', '127.0.0.1:0', '--bootstrap', seeder.addrs[0] ?? ''])
    const gateway = String((await viewer.waitForEvent(e => e.event === 'ready')).gateway)
    // read through the gateway until 20 MiB arrived, then kill the daemon
    let enough = false
    const read = new Promise<void>((resolve, reject) => {
      const req = http.get(`${gateway}/shoal/${cid}/big.bin`, res => {
        if (res.statusCode !== 200) { reject(new Error(`gateway answered ${res.statusCode ?? '?'}`)); res.resume(); return }
        let got = 0
        res.on('data', (c: Buffer) => {
          got += c.byteLength
          if (got >= 20 * MiB && !enough) { enough = true; req.destroy(); resolve() }
        })
        res.on('end', () => { if (!enough) reject(new Error(`the response ended after ${got} bytes`)) })
        // our own destroy() above resets it: only an error before 20 MiB is one
        res.on('error', err => { if (!enough) reject(err) })
      })
      req.on('error', err => { if (!enough) reject(err) })
    })
    if (await within(read, 60_000) === 'timeout') throw new Error('20 MiB did not come through the gateway within 60 s')
    await viewer.kill('SIGKILL')
    viewer = await startDaemon(repo, ['--gateway', '127.0.0.1:0', '--bootstrap', seeder.addrs[0] ?? ''])
    const files = JSON.parse((await viewer.cli(['files', cid, '--json'])).stdout) as { files: Array<{ path: string, held: number }> }
    const held = files.files.find(f => f.path === 'big.bin')?.held ?? 0
    expect(held).toBeGreaterThan(0) // the bitfield is saved every 16 chunks and every second
    const ls = JSON.parse((await viewer.cli(['ls', '--json'])).stdout) as { shares: Array<{ cid: string, partial: boolean }> }
    expect(ls.shares).toContainEqual(expect.objectContaining({ cid, partial: true }))
    const before = (await status(viewer)).downloaded
    const res = await viewer.cli(['fetch', cid, '--only', 'big.bin', '-o', path.join(dir, 'viewed') + '/'])
    expect(res.code, res.stderr).toBe(0)
    expect(await sha256File(path.join(dir, 'viewed', 'share', 'big.bin'))).toBe(await sha256File(path.join(tree, 'big.bin')))
    expect((await status(viewer)).downloaded - before).toBeLessThanOrEqual(48 * MiB + 5 - held)
  })
})
