import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ndjson, shareFile, startDaemon, stopAll, tempDir, treeDigest, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const KiB = 1024
const MiB = 1024 * KiB
/** Files in the tree besides the few odd ones below. */
const SMALL_FILES = 3000

/** Deterministic bytes: the same seed, the same file. */
function bytes (seed: number, length: number): Buffer {
  const out = Buffer.alloc(length)
  let state = seed * 2654435761 >>> 0 || 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5
    out[i] = state & 0xff
  }
  return out
}

/**
 * A tree of SMALL_FILES small files (0 to 8 KiB, every 10th empty) in 30
 * folders, an empty folder and a nested empty one, a file just past the
 * small-file size, one of exactly the small-file size, and a multi-chunk file
 * whose last chunk is short.
 */
async function makeTree (root: string): Promise<void> {
  for (let d = 0; d < 30; d++) await fs.mkdir(path.join(root, `dir${d}`), { recursive: true })
  await fs.mkdir(path.join(root, 'empty'))
  await fs.mkdir(path.join(root, 'deep', 'er', 'empty'), { recursive: true })
  for (let k = 0; k < SMALL_FILES; k++) {
    const size = k % 10 === 0 ? 0 : (k * 131) % (8 * KiB) + 1
    await fs.writeFile(path.join(root, `dir${k % 30}`, `file-${k}.dat`), bytes(k + 1, size))
  }
  await fs.writeFile(path.join(root, 'just-small.bin'), bytes(90_001, 64 * KiB))
  await fs.writeFile(path.join(root, 'not-small.bin'), bytes(90_002, 64 * KiB + 1))
  await writeRandomFile(path.join(root, 'big-with-short-tail.bin'), 2 * MiB + 4097, 90_003)
}

describe('a directory of thousands of small files', () => {
  let dir: string
  let a: Daemon
  let b: Daemon
  let c: Daemon
  let src: string
  let expected: Record<string, string>

  beforeAll(async () => {
    dir = await tempDir()
    src = path.join(dir, 'small')
    await makeTree(src)
    expected = await treeDigest(src)
    a = await startDaemon(path.join(dir, 'a'))
    b = await startDaemon(path.join(dir, 'b'))
    c = await startDaemon(path.join(dir, 'c'), ['--bootstrap', b.addrs[0] ?? ''])
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('is fetched by ticket byte for byte, empty files and empty folders included, and served again by the fetcher', async () => {
    const shared = await a.cli(['share', src, '--json'])
    expect(shared.code, shared.stderr).toBe(0)
    const result = JSON.parse(shared.stdout) as { cid: string, ticket: string, files: number, kind: string }
    expect(result).toMatchObject({ kind: 'dir', files: SMALL_FILES + 3 })

    const out = path.join(dir, 'b-copy')
    const fetched = await b.cli(['fetch', result.ticket, '-o', out, '--json'])
    expect(fetched.code, fetched.stderr + b.log()).toBe(0)
    expect(ndjson(fetched.stdout).at(-1)).toMatchObject({ done: true, path: out, cid: result.cid })
    expect(await treeDigest(out)).toEqual(expected)
    expect(expected.empty).toBe('dir')
    expect(expected['deep/er/empty']).toBe('dir')
    await expect(fs.access(`${out}.part`)).rejects.toThrow()

    // B now serves the copy from its files: a third daemon that knows only B fetches it by id
    const again = path.join(dir, 'c-copy')
    const second = await c.cli(['fetch', result.cid, '-o', again, '--json'])
    expect(second.code, second.stderr + c.log()).toBe(0)
    expect(await treeDigest(again)).toEqual(expected)

    // the same tree shared on B has the same id
    expect((await shareFile(b, out)).cid).toBe(result.cid)
  })
})
