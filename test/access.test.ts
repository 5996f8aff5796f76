/**
 * Pick, stream and open, with real daemons and the real CLI: `shoal files`,
 * `shoal fetch --only`, `shoal cat` of content not held, and the HTTP
 * gateway (ranges of content not held, HEAD, errors, the Host check and the
 * cross-site rule) with plain HTTP requests as a browser or player makes them.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, ndjson, sha256File, shareFile, startDaemon, stopAll, tempDir, treeDigest, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'
import { within } from '../examples/support/cli-process.js'

const MiB = 1024 * 1024

interface Reply { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

async function get (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return await new Promise((resolve, reject) => {
    http.request(url, { method, headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
    }).on('error', reject).end()
  })
}

async function uploaded (d: Daemon): Promise<number> {
  return (JSON.parse((await d.cli(['status', '--json'])).stdout) as { uploaded: number }).uploaded
}

async function downloaded (d: Daemon): Promise<number> {
  return (JSON.parse((await d.cli(['status', '--json'])).stdout) as { downloaded: number }).downloaded
}

describe('files, fetch --only, cat and the gateway through the CLI', () => {
  let dir: string
  let seeder: Daemon
  let picker: Daemon
  let viewer: Daemon
  let gateway: string
  let tree: string
  let treeTicket: string
  let treeCid: string

  beforeAll(async () => {
    dir = await tempDir()
    tree = path.join(dir, 'share')
    await fs.mkdir(path.join(tree, 'docs', 'notes'), { recursive: true })
    await fs.mkdir(path.join(tree, 'videos'), { recursive: true })
    await fs.mkdir(path.join(tree, 'empty'), { recursive: true })
    await fs.writeFile(path.join(tree, 'docs', 'readme.txt'), 'read me first\n')
    await writeRandomFile(path.join(tree, 'docs', 'notes', 'n1.bin'), 2 * MiB + 3, 1)
    await writeRandomFile(path.join(tree, 'videos', 'a.bin'), 5 * MiB + 7, 2)
    await writeRandomFile(path.join(tree, 'videos', 'b.bin'), 3 * MiB, 3)
    await writeRandomFile(path.join(tree, 'big.bin'), 9 * MiB + 1, 4)
    seeder = await startDaemon(path.join(dir, 'seeder'))
    ;[picker, viewer] = await Promise.all([
      startDaemon(path.join(dir, 'picker')),
      startDaemon(path.join(dir, 'viewer'), ['--gateway', '127.0.0.1:0', '--bootstrap', seeder.addrs[0] ?? ''])
    ])
    const ready = await viewer.waitForEvent(e => e.event === 'ready')
    gateway = String(ready.gateway)
    ;({ ticket: treeTicket, cid: treeCid } = await shareFile(seeder, tree))
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('files lists a share from its manifest alone', async () => {
    const res = await picker.cli(['files', treeTicket, '--json'])
    expect(res.code, res.stderr).toBe(0)
    const listed = JSON.parse(res.stdout) as { cid: string, files: Array<{ path: string, size: number, held: number }> }
    expect(listed.cid).toBe(treeCid)
    expect(listed.files).toEqual([
      { path: 'big.bin', size: 9 * MiB + 1, held: 0 },
      { path: 'docs/notes/n1.bin', size: 2 * MiB + 3, held: 0 },
      { path: 'docs/readme.txt', size: 14, held: 0 },
      { path: 'videos/a.bin', size: 5 * MiB + 7, held: 0 },
      { path: 'videos/b.bin', size: 3 * MiB, held: 0 }
    ])
    expect(await uploaded(seeder)).toBe(0) // no chunk moved
    const human = await picker.cli(['files', treeCid])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/share: 5 files, 19(\.0)? MiB, none here/)
    expect(human.stdout).toMatch(/none\s+5(\.0)? MiB\s+videos\/a.bin/)
  })

  it('fetch --only writes just the selected files, requests just their chunks, and adds to them later', async () => {
    const into = path.join(dir, 'picked') + '/'
    const before = await uploaded(seeder)
    const first = await picker.cli(['fetch', treeTicket, '--only', 'docs', '-o', into, '--json'])
    expect(first.code, first.stderr).toBe(0)
    expect(ndjson(first.stdout).pop()).toMatchObject({ done: true, path: path.join(dir, 'picked', 'share') })
    const out = path.join(dir, 'picked', 'share')
    const source = await treeDigest(tree)
    expect(await treeDigest(path.join(dir, 'picked'))).toEqual({ share: 'dir', 'share/docs': 'dir', 'share/docs/notes': 'dir', 'share/docs/notes/n1.bin': source['docs/notes/n1.bin'], 'share/docs/readme.txt': source['docs/readme.txt'] })
    expect(await uploaded(seeder) - before).toBe(2 * MiB + 3 + 14) // only the selected chunks were asked for

    const second = await picker.cli(['fetch', treeCid, '--only', 'videos/a.*', '--only', 'empty', '-o', into])
    expect(second.code, second.stderr).toBe(0)
    expect(await sha256File(path.join(out, 'videos', 'a.bin'))).toBe(source['videos/a.bin'])
    expect(await treeDigest(path.join(dir, 'picked'))).toMatchObject({ 'share/docs/readme.txt': source['docs/readme.txt'], 'share/empty': 'dir' })
    await expect(fs.access(path.join(out, 'videos', 'b.bin'))).rejects.toThrow()
    await expect(fs.access(path.join(out, 'big.bin'))).rejects.toThrow()
    await expect(fs.access(`${out}.part`)).rejects.toThrow()
    expect(await uploaded(seeder) - before).toBe(2 * MiB + 3 + 14 + 5 * MiB + 7)

    const files = JSON.parse((await picker.cli(['files', treeCid, '--json'])).stdout) as { files: Array<{ path: string, held: number }> }
    expect(files.files.map(f => f.held)).toEqual([0, 2 * MiB + 3, 14, 5 * MiB + 7, 0])
    const ls = JSON.parse((await picker.cli(['ls', '--json'])).stdout) as { shares: Array<{ cid: string, partial: boolean, held: number }>, downloads: unknown[] }
    expect(ls.shares).toContainEqual(expect.objectContaining({ cid: treeCid, partial: true, held: 7 * MiB + 24 }))
    expect(ls.downloads).toEqual([])

    const none = await picker.cli(['fetch', treeCid, '--only', 'nope/*.mkv', '-o', into])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/--only "nope\/\*\.mkv" matches no file/)
    expect(none.stderr.trim().split('\n')).toHaveLength(1)
    const bad = await picker.cli(['fetch', treeCid, '--only', '../etc'])
    expect(bad.code).toBe(2)
  })

  it('cat streams a file this node does not hold, and a later fetch reuses what it fetched', async () => {
    const catted = path.join(dir, 'catted.bin')
    const code = await catTo(viewer, [treeTicket, 'big.bin'], catted)
    expect(code).toBe(0)
    expect(await sha256File(catted)).toBe((await treeDigest(tree))['big.bin'])
    const before = await downloaded(viewer)
    const fetched = await viewer.cli(['fetch', treeCid, '--only', 'big.bin', '-o', path.join(dir, 'viewer-out') + '/'])
    expect(fetched.code, fetched.stderr).toBe(0)
    expect(await downloaded(viewer)).toBe(before) // every chunk of it was already held
    expect(await sha256File(path.join(dir, 'viewer-out', 'share', 'big.bin'))).toBe((await treeDigest(tree))['big.bin'])
  })

  it('the gateway serves ranges of content not held byte for byte, HEAD, and 404/416', async () => {
    const src = path.join(dir, 'media.bin')
    await writeRandomFile(src, 30 * MiB + 99, 9)
    const { cid } = await shareFile(seeder, src)
    const bytes = await fs.readFile(src)
    for (const [a, b] of [[15 * MiB, 15 * MiB + 65535], [0, 0], [30 * MiB, 30 * MiB + 98], [MiB - 10, MiB + 10]] as const) {
      const res = await get(`${gateway}/shoal/${cid}/media.mp4`, { range: `bytes=${a}-${b}` })
      expect(res.status).toBe(206)
      expect(res.headers['content-type']).toBe('video/mp4')
      expect(Buffer.compare(res.body, bytes.subarray(a, b + 1)), `${a}-${b}`).toBe(0)
    }
    const head = await get(`${gateway}/shoal/${cid}`, {}, 'HEAD')
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String(bytes.length))
    expect((await get(`${gateway}/shoal/${cid}`, { range: `bytes=${bytes.length}-` })).status).toBe(416)
    expect((await get(`${gateway}/shoal/${treeCid}/nope.txt`)).status).toBe(404)
    const listing = await get(`${gateway}/shoal/${treeCid}/docs/`, { accept: 'application/json' })
    expect(JSON.parse(listing.body.toString())).toMatchObject({ entries: [{ name: 'notes', type: 'dir' }, { name: 'readme.txt', type: 'file', size: 14 }] })
  })

  it('the gateway checks Host and never fetches for another site\'s page', async () => {
    const src = path.join(dir, 'private.bin')
    await writeRandomFile(src, MiB, 10)
    const { cid } = await shareFile(seeder, src)
    const port = new URL(gateway).port
    const rebound = await get(`${gateway}/shoal/${cid}`, { host: `attacker.example:${port}` })
    expect(rebound.status).toBe(403)
    const before = await downloaded(viewer)
    const cross = await get(`${gateway}/shoal/${cid}`, { 'sec-fetch-site': 'cross-site', 'sec-fetch-dest': 'image' })
    expect(cross.status).toBe(403)
    expect(cross.body.toString()).toMatch(/cross-site/)
    expect(await downloaded(viewer)).toBe(before)
    const direct = await get(`${gateway}/shoal/${cid}`, { host: `localhost:${port}`, 'sec-fetch-site': 'none' })
    expect(direct.status).toBe(200)
    expect(await sha256File(src)).toBe(await sha256OfBuffer(direct.body))
  })

  it('status shows the gateway URL', async () => {
    const status = JSON.parse((await viewer.cli(['status', '--json'])).stdout) as { gateway?: string }
    expect(status.gateway).toBe(gateway)
    expect((await viewer.cli(['status'])).stdout).toMatch(new RegExp(`gateway:\\s+${gateway.replace(/\./g, '\\.')}/shoal/<id>/<path>`))
  })
})

/** `shoal cat ARGS > file`: stdout kept as bytes. */
async function catTo (d: Daemon, args: string[], file: string): Promise<number | null> {
  const out = await fs.open(file, 'w')
  try {
    const child = spawn(process.execPath, [CLI, 'cat', ...args, '--repo', d.repo], { stdio: ['ignore', out.fd, 'inherit'] })
    const exited = await within(new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) }), 60_000)
    if (exited === 'timeout') { child.kill('SIGKILL'); throw new Error(`shoal cat ${args.join(' ')} did not end within 60 s`) }
    return exited
  } finally {
    await out.close()
  }
}

async function sha256OfBuffer (b: Buffer): Promise<string> {
  const { createHash } = await import('node:crypto')
  return createHash('sha256').update(b).digest('hex')
}
