/**
 * The reader cache: alone with stub holdings, then between two nodes: what
 * `cat` fetched of roots no fetch asked for stays under `maxCache`, the least
 * recently read going first, never one being read or fetched.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Logger } from '@libp2p/interface'
import { createShoal } from '../src/index.js'
import type { Shoal } from '../src/index.js'
import { ReaderCache } from '../src/transfer/download/reader-cache.js'
import type { Holding } from '../src/transfer/download/holding.js'
import { startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024
const log = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => log }) as unknown as Logger

function holding (cid: string, bytes: number, startedAt: string, out?: string): Holding {
  return { record: { cid, startedAt, ...(out !== undefined ? { out } : {}) }, heldBytes: () => bytes } as unknown as Holding
}

describe('ReaderCache', () => {
  it('removes the least recently read roots until the rest fits, skipping busy ones and what a fetch asked for', async () => {
    const held = new Map([
      ['old', holding('old', 3, '2026-01-01T00:00:00Z')],
      ['busy', holding('busy', 3, '2025-01-01T00:00:00Z')],
      ['fetched', holding('fetched', 100, '2024-01-01T00:00:00Z', '/somewhere')],
      ['newer', holding('newer', 3, '2026-06-01T00:00:00Z')],
      ['newest', holding('newest', 3, '2026-07-01T00:00:00Z')]
    ])
    const removed: string[] = []
    const cache = new ReaderCache({ limit: 7, holdings: () => held.values(), busy: cid => cid === 'busy', remove: async cid => { removed.push(cid); held.delete(cid) }, log, graceMs: 0 })
    expect(cache.size()).toBe(12)
    await cache.trim()
    // 12 bytes cached (the fetch's 100 are not the cache's): 'old', then 'newer' go; 'busy' is skipped
    expect(removed).toEqual(['old', 'newer'])
    expect(cache.size()).toBe(6)
  })

  it('keeps a root read within the grace period, and looks again once it is over', async () => {
    const held = new Map([['a', holding('a', 10, '2026-01-01T00:00:00Z')]])
    let removed: () => void = () => {}
    const gone = new Promise<number>(resolve => { removed = () => { resolve(Date.now()) } })
    const cache = new ReaderCache({ limit: 5, holdings: () => held.values(), busy: () => false, remove: async cid => { held.delete(cid); removed() }, log, graceMs: 300 })
    const readAt = Date.now()
    cache.touch('a')
    await cache.trim()
    expect(held.has('a')).toBe(true)
    // nothing else calls trim: the cache looks again by itself when the grace is over
    expect(await gone - readAt).toBeGreaterThanOrEqual(300)
    expect(held.has('a')).toBe(false)
  })

  it('does nothing without a limit', async () => {
    const removed: string[] = []
    const cache = new ReaderCache({ limit: 0, holdings: () => [holding('a', 10, '2026-01-01T00:00:00Z')], busy: () => false, remove: async cid => { removed.push(cid) }, log, graceMs: 0 })
    await cache.trim()
    expect(removed).toEqual([])
  })
})

describe('maxCache between two nodes', () => {
  let dir: string
  let seeder: Shoal
  let reader: Shoal

  beforeAll(async () => {
    dir = await tempDir()
    seeder = await startNode(dir, 'seeder')
    reader = await createShoal({ repo: path.join(dir, 'reader'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, maxCache: '5MiB', cacheGraceMs: 0 })
    await reader.start()
    await reader.connect(seeder.addrs()[0] as string)
  })

  afterAll(async () => {
    await reader.stop()
    await seeder.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })

  async function readAll (cid: string): Promise<Buffer> {
    const parts: Uint8Array[] = []
    for await (const chunk of await reader.cat(cid)) parts.push(chunk)
    return Buffer.concat(parts)
  }

  async function partials (): Promise<string[]> {
    return (await reader.list()).shares.filter(s => s.partial === true).map(s => s.cid)
  }

  /** The reader's run for `cid` ended and the cache was trimmed: the partial shares are `expected`. */
  async function until (expected: string[]): Promise<void> {
    const deadline = Date.now() + 20_000
    while (JSON.stringify((await partials()).sort()) !== JSON.stringify([...expected].sort())) {
      if (Date.now() > deadline) throw new Error(`partial shares ${JSON.stringify(await partials())}, expected ${JSON.stringify(expected)}`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  it('removes the root read least recently once what cat fetched is over the limit, files and record', async () => {
    const a = randomBytes(3 * MiB)
    const b = randomBytes(3 * MiB)
    await fs.writeFile(path.join(dir, 'a.bin'), a)
    await fs.writeFile(path.join(dir, 'b.bin'), b)
    const sharedA = await seeder.share(path.join(dir, 'a.bin'))
    const sharedB = await seeder.share(path.join(dir, 'b.bin'))
    expect((await readAll(sharedA.cid)).equals(a)).toBe(true)
    await until([sharedA.cid])
    const partA = path.join(dir, 'reader', 'partial', sharedA.cid)
    expect((await fs.stat(partA)).isFile() || (await fs.stat(partA)).isDirectory()).toBe(true)
    // 6 MiB over a 5 MiB cache: the first goes
    expect((await readAll(sharedB.cid)).equals(b)).toBe(true)
    await until([sharedB.cid])
    await expect(fs.stat(partA)).rejects.toMatchObject({ code: 'ENOENT' })
    // and a read of it again fetches it again, whole and verified
    expect((await readAll(sharedA.cid)).equals(a)).toBe(true)
    await until([sharedA.cid])
  })
})
