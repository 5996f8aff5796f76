import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { logger } from '@libp2p/logger'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ChunkLayout } from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import { PartFiles } from '../src/storage/part-files.js'
import { tempDir } from './helpers.js'

const CHUNK = 256 * 1024

/** A directory layout with files of these sizes (hashes unused here). */
function layoutOf (files: Array<[string, number]>): ChunkLayout {
  const manifest: Manifest = { version: 1, kind: 'dir', chunkSize: CHUNK, dirs: ['empty'], files: files.map(([p, size]) => ({ path: p, size, hashes: new Uint8Array(32 * Math.ceil(size / CHUNK)) })) }
  return new ChunkLayout(manifest)
}

async function tree (root: string): Promise<string[]> {
  const out: string[] = []
  async function walk (dir: string, rel: string): Promise<void> {
    let entries
    try { entries = await fs.readdir(dir, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      out.push(e.isDirectory() ? `${r}/` : r)
      if (e.isDirectory()) await walk(path.join(dir, e.name), r)
    }
  }
  await walk(root, '')
  return out.sort()
}

describe('part files of a selective download', () => {
  let dir: string
  beforeAll(async () => { dir = await tempDir() })
  afterAll(async () => { await fs.rm(dir, { recursive: true, force: true }) })

  it('makes only the selected files; others appear at their first write; concurrent first writes make a file once', async () => {
    const layout = layoutOf([['a/one.bin', 2 * CHUNK], ['b/two.bin', CHUNK + 5], ['c.bin', 10]])
    const part = new PartFiles(path.join(dir, 'sel.part'), layout, logger('test'))
    await part.prepare(false, new Set([0]))
    expect(await tree(part.partPath)).toEqual(['a/', 'a/one.bin'])
    const chunks = [randomBytes(CHUNK), randomBytes(5)]
    await Promise.all([part.write(2, chunks[0] as Buffer), part.write(3, chunks[1] as Buffer)])
    expect(await tree(part.partPath)).toEqual(['a/', 'a/one.bin', 'b/', 'b/two.bin'])
    expect(Buffer.compare(Buffer.from(await part.read(3)), chunks[1] as Buffer)).toBe(0)
    await part.close()
  })

  it('places a complete file under the output, reads it there, prunes the empty part tree, and moves with open handles', async () => {
    const layout = layoutOf([['x/file.bin', CHUNK], ['y.bin', 0]])
    const part = new PartFiles(path.join(dir, 'p.part'), layout, logger('test'))
    await part.prepare(false, new Set([0, 1]))
    const bytes = randomBytes(CHUNK)
    await part.write(0, bytes)
    await part.moveTo(path.join(dir, 'moved', 'p.part')) // a cache adopted by a fetch
    expect(Buffer.compare(Buffer.from(await part.read(0)), bytes)).toBe(0)
    const out = path.join(dir, 'out')
    await part.place(0, path.join(out, 'x', 'file.bin'), false)
    await part.place(1, path.join(out, 'y.bin'), false)
    expect(part.isPlaced(0)).toBe(true)
    expect(Buffer.compare(Buffer.from(await part.read(0)), bytes)).toBe(0)
    await part.prune()
    await expect(fs.access(part.partPath)).rejects.toThrow()
    expect(await tree(out)).toEqual(['x/', 'x/file.bin', 'y.bin'])
    await part.close()
  })

  it('refuses to place over a file that appeared meanwhile, unless forced', async () => {
    const layout = layoutOf([['f.bin', 100]])
    const part = new PartFiles(path.join(dir, 'q.part'), layout, logger('test'))
    await part.prepare(false, 'all')
    await part.write(0, randomBytes(100))
    const at = path.join(dir, 'q', 'f.bin')
    await fs.mkdir(path.dirname(at), { recursive: true })
    await fs.writeFile(at, 'theirs')
    await expect(part.place(0, at, false)).rejects.toMatchObject({ code: 'PATH_EXISTS' })
    expect(await fs.readFile(at, 'utf8')).toBe('theirs')
    await part.place(0, at, true)
    expect((await fs.stat(at)).size).toBe(100)
    await part.close()
  })
})
