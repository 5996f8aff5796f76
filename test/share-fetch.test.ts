import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ndjson, sha256File, startDaemon, stopAll, tempDir, treeDigest, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024

describe('two daemons: share and fetch by ticket through the CLI', () => {
  let dir: string
  let a: Daemon
  let b: Daemon

  beforeAll(async () => {
    dir = await tempDir()
    ;[a, b] = await Promise.all([startDaemon(path.join(dir, 'a')), startDaemon(path.join(dir, 'b'))])
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('reports its peer id and addresses in status --json', async () => {
    const res = await a.cli(['status', '--json'])
    expect(res.code, res.stderr).toBe(0)
    const status = JSON.parse(res.stdout) as { peerId: string, addrs: string[] }
    expect(status.peerId).toBe(a.peerId)
    expect(status.addrs.length).toBeGreaterThan(0)
    expect(status.addrs[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
  })

  it('moves a 40 MiB multi-chunk file byte for byte, and the same content has the same id on B', async () => {
    const src = path.join(dir, 'big.bin')
    await writeRandomFile(src, 40 * MiB + 17, 7)
    const { cid, ticket } = await shareFile(a, src)
    expect(cid).toMatch(/^b[a-z2-7]+$/)
    expect(ticket).toMatch(/^shoal1[a-z2-7]+$/)

    const out = path.join(dir, 'fetched', 'copy.bin')
    const fetched = await b.cli(['fetch', ticket, '-o', out, '--json'])
    expect(fetched.code, fetched.stderr + b.log()).toBe(0)
    const events = ndjson(fetched.stdout)
    const last = events[events.length - 1]
    expect(last).toMatchObject({ done: true, path: out, cid })
    expect(await sha256File(out)).toBe(await sha256File(src))
    await expect(fs.access(`${out}.part`)).rejects.toThrow()

    // B serves what it fetched: sharing the copy gives the same content id
    const again = await b.cli(['share', out, '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as { cid: string }).cid).toBe(cid)

    const status = JSON.parse((await a.cli(['status', '--json'])).stdout) as { uploaded: number }
    expect(status.uploaded).toBe(40 * MiB + 17)
  })

  it('moves a nested directory with an empty file and an empty directory', async () => {
    const src = path.join(dir, 'tree')
    await fs.mkdir(path.join(src, 'a', 'b', 'c'), { recursive: true })
    await fs.mkdir(path.join(src, 'empty-dir'), { recursive: true })
    await fs.writeFile(path.join(src, 'empty.txt'), '')
    await fs.writeFile(path.join(src, 'a', 'hello.txt'), 'hello shoal\n')
    await writeRandomFile(path.join(src, 'a', 'b', 'c', 'data.bin'), 3 * MiB + 1, 3)
    await writeRandomFile(path.join(src, 'a', 'b', 'one-chunk.bin'), MiB, 4)

    const { ticket, cid } = await shareFile(a, src)

    const into = path.join(dir, 'downloads') + '/'
    const fetched = await b.cli(['fetch', ticket, '-o', into, '--json'])
    expect(fetched.code, fetched.stderr + b.log()).toBe(0)
    const last = ndjson(fetched.stdout).pop()
    expect(last).toMatchObject({ done: true, path: path.join(dir, 'downloads', 'tree') })
    expect(await treeDigest(path.join(dir, 'downloads', 'tree'))).toEqual(await treeDigest(src))

    const again = await b.cli(['share', path.join(dir, 'downloads', 'tree'), '--json'])
    expect((JSON.parse(again.stdout) as { cid: string }).cid).toBe(cid)
  })

  it('refuses to overwrite an existing path unless --force', async () => {
    const src = path.join(dir, 'small.txt')
    await fs.writeFile(src, 'new content\n')
    const { ticket } = JSON.parse((await a.cli(['share', src, '--json'])).stdout) as { ticket: string }
    const out = path.join(dir, 'existing.txt')
    await fs.writeFile(out, 'keep me\n')

    const refused = await b.cli(['fetch', ticket, '-o', out])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/already exists/)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(await fs.readFile(out, 'utf8')).toBe('keep me\n')

    const forced = await b.cli(['fetch', ticket, '-o', out, '--force'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(await fs.readFile(out, 'utf8')).toBe('new content\n')
  })

  it('lists and unshares; an unshared id is no longer served', async () => {
    const src = path.join(dir, 'gone.txt')
    await fs.writeFile(src, 'soon gone\n')
    const { cid, ticket } = JSON.parse((await a.cli(['share', src, '--json'])).stdout) as { cid: string, ticket: string }
    const ls = JSON.parse((await a.cli(['ls', '--json'])).stdout) as { shares: Array<{ cid: string }> }
    expect(ls.shares.map(s => s.cid)).toContain(cid)

    expect((await a.cli(['unshare', cid])).code).toBe(0)
    const fetched = await b.cli(['fetch', ticket, '-o', path.join(dir, 'gone-copy.txt'), '--timeout', '2'])
    expect(fetched.code).toBe(1)
    expect(fetched.stderr).toMatch(/no providers/i)
    await expect(fs.access(path.join(dir, 'gone-copy.txt'))).rejects.toThrow()
  })

  it('stops gracefully on `shoal stop`', async () => {
    const res = await b.cli(['stop'])
    expect(res.code).toBe(0)
    expect(await b.exited).toBe(0)
    const after = await b.cli(['status'])
    expect(after.code).toBe(3)
  })
})
