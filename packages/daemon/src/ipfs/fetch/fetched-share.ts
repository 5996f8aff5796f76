/**
 * A finished UnixFS fetch becomes a share of this node, so it serves what it
 * fetched, over Bitswap and Shoal's own protocol alike: a Shoal manifest
 * (1 MiB chunks) of the saved files — its hashes taken from the raw leaves
 * when they are exactly the 1 MiB pieces (the `unixfs-v1-2025` layout),
 * else from reading the saved files once — and, kept with it, the DAG the
 * content was fetched as (its nodes, and where each leaf's bytes are), so
 * the CID it was fetched by is served as it was, CIDv0 and other chunkings
 * included.
 */
import fs from 'node:fs/promises'
import nodePath from 'node:path'
import { createHash } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import {
  CHUNK_HASH_LENGTH, MANIFEST_VERSION, RAW_CODE, UNIXFS_CHUNK_SIZE, ancestorsOf, chunkCountOf, comparePaths, sealManifest
} from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import { fsError } from '../../errors.js'
import type { LeafEntry } from '../ipfs-records.js'
import type { WrittenLeaf } from './unixfs-tree.js'

/** What the walk saved, as the share it becomes. */
export interface SavedTree {
  kind: 'file' | 'dir'
  files: Array<{ path: string, size: number }>
  dirs: Iterable<string>
  leaves: WrittenLeaf[]
}

/** The manifest of the saved content, and its leaf table in manifest file order. */
export async function manifestOfSaved (saved: SavedTree, out: string): Promise<{ cid: CID, bytes: Uint8Array, manifest: Manifest, leaves: LeafEntry[] }> {
  const files = [...saved.files].sort((a, b) => comparePaths(a.path, b.path))
  const index = new Map(files.map((f, i) => [f.path, i]))
  const byFile = new Map<string, WrittenLeaf[]>()
  for (const leaf of saved.leaves) {
    const list = byFile.get(leaf.path)
    if (list === undefined) byFile.set(leaf.path, [leaf])
    else list.push(leaf)
  }
  const manifestFiles = []
  for (const file of files) {
    const hashes = profileHashes(file.size, byFile.get(file.path) ?? []) ?? await hashFile(saved.kind === 'file' ? out : nodePath.join(out, ...file.path.split('/')), file.size)
    manifestFiles.push({ path: file.path, size: file.size, hashes })
  }
  const manifest: Manifest = { version: MANIFEST_VERSION, kind: saved.kind, chunkSize: UNIXFS_CHUNK_SIZE, files: manifestFiles, dirs: emptyDirs(saved, files) }
  const { cid, bytes } = await sealManifest(manifest)
  const leaves: LeafEntry[] = []
  const seen = new Set<string>()
  for (const leaf of saved.leaves) {
    const key = leaf.cid.toString()
    if (seen.has(key)) continue // one place per block is enough to serve it
    seen.add(key)
    leaves.push({
      cid: leaf.cid,
      file: index.get(leaf.path) ?? 0,
      offset: leaf.offset,
      length: leaf.length,
      ...(leaf.prefix !== undefined ? { prefix: leaf.prefix } : {}),
      ...(leaf.suffix !== undefined ? { suffix: leaf.suffix } : {})
    })
  }
  return { cid, bytes, manifest, leaves }
}

/** The chunk hashes from the leaves when they are raw 1 MiB pieces covering the file; else undefined. */
function profileHashes (size: number, leaves: WrittenLeaf[]): Uint8Array | undefined {
  const count = chunkCountOf(size, UNIXFS_CHUNK_SIZE)
  const out = new Uint8Array(count * CHUNK_HASH_LENGTH)
  const filled = new Uint8Array(count)
  for (const leaf of leaves) {
    if (leaf.length === 0) continue // the empty file's leaf: no chunk
    if (leaf.cid.code !== RAW_CODE || leaf.offset % UNIXFS_CHUNK_SIZE !== 0) return undefined
    const i = leaf.offset / UNIXFS_CHUNK_SIZE
    if (leaf.length !== Math.min(UNIXFS_CHUNK_SIZE, size - leaf.offset)) return undefined
    out.set(leaf.cid.multihash.digest, i * CHUNK_HASH_LENGTH)
    filled[i] = 1
  }
  return filled.every(f => f === 1) ? out : undefined
}

/** SHA-256 of each 1 MiB chunk of a saved file. */
async function hashFile (filePath: string, size: number): Promise<Uint8Array> {
  const out: Buffer[] = []
  const buffer = Buffer.allocUnsafe(UNIXFS_CHUNK_SIZE)
  let handle: fs.FileHandle | undefined
  try {
    handle = await fs.open(filePath, 'r')
    for (let at = 0; at < size; at += UNIXFS_CHUNK_SIZE) {
      const length = Math.min(UNIXFS_CHUNK_SIZE, size - at)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, at + done)
        if (bytesRead === 0) throw new Error(`${filePath} is shorter than it was written`)
        done += bytesRead
      }
      out.push(createHash('sha256').update(buffer.subarray(0, length)).digest())
    }
  } catch (err) {
    throw fsError(err, 'cannot read', filePath)
  } finally {
    await handle?.close()
  }
  return Buffer.concat(out)
}

/** Directories that hold nothing: what a manifest lists as `dirs`. */
function emptyDirs (saved: SavedTree, files: Array<{ path: string }>): string[] {
  if (saved.kind === 'file') return []
  const full = new Set<string>()
  for (const f of files) for (const a of ancestorsOf(f.path)) full.add(a)
  const dirs = [...saved.dirs].filter(d => d !== '')
  for (const d of dirs) for (const a of ancestorsOf(d)) full.add(a)
  return dirs.filter(d => !full.has(d)).sort(comparePaths)
}
