/**
 * Files for scripts and tests (examples/, bench/, test/harness.ts): write a
 * random file, hash a file, hash a tree.
 */
import { createHash, randomFillSync } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'

export const KiB = 1024
export const MiB = 1024 * KiB
export const GiB = 1024 * MiB

/**
 * Write `size` random bytes in 1 MiB writes; returns their SHA-256 (hex).
 * With a `seed` the bytes are a deterministic xorshift32 stream (the same
 * seed, the same file); without one they come from the system's CSPRNG.
 */
export async function writeRandomFile (file: string, size: number, seed?: number): Promise<string> {
  const hash = createHash('sha256')
  const block = Buffer.alloc(MiB)
  const handle = await fs.open(file, 'w')
  try {
    let state = seed ?? 0
    for (let written = 0; written < size;) {
      const n = Math.min(MiB, size - written)
      if (seed === undefined) {
        randomFillSync(block, 0, n)
      } else {
        // xorshift32, a whole block at a time (also past `n`), little-endian words
        for (let i = 0; i < MiB; i += 4) {
          state ^= state << 13; state ^= state >>> 17; state ^= state << 5
          block.writeUInt32LE(state >>> 0, i)
        }
      }
      const piece = block.subarray(0, n)
      hash.update(piece)
      await handle.write(piece, 0, n, written)
      written += n
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

/** SHA-256 (hex) of a file, in reads of up to 1 MiB (a buffer no larger than the file: trees of many small files hash quickly). */
export async function sha256File (file: string): Promise<string> {
  const hash = createHash('sha256')
  const handle = await fs.open(file, 'r')
  try {
    const { size } = await handle.stat()
    const block = Buffer.allocUnsafe(Math.max(1, Math.min(MiB, size)))
    for (let pos = 0; ;) {
      const { bytesRead } = await handle.read(block, 0, block.byteLength, pos)
      if (bytesRead === 0) break
      hash.update(block.subarray(0, bytesRead))
      pos += bytesRead
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

/** Relative path → SHA-256 (files) or 'dir' for every entry below `root`. */
export async function treeDigest (root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  async function walk (dir: string, rel: string): Promise<void> {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`
      const abs = path.join(dir, entry.name)
      if (entry.isDirectory()) { out[childRel] = 'dir'; await walk(abs, childRel) } else out[childRel] = await sha256File(abs)
    }
  }
  await walk(root, '')
  return out
}

/** Whether two treeDigest results are the same tree. */
export function sameTree (a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every(k => a[k] === b[k])
}
