/**
 * The UnixFS DAG of a share under the `unixfs-v1-2025` profile (IPIP-0499),
 * computed from leaf digests alone — never from the bytes again. A file is
 * 1 MiB raw leaves (CIDv1, raw, sha2-256: for a 1 MiB share, exactly its
 * chunks and their hashes) under a balanced tree of file nodes of at most
 * 1024 links; a file of one leaf is that leaf, an empty file the empty raw
 * block. Directories are built one at a time in path order
 * (directory-layout.ts), as `ipfs-unixfs-importer`'s tree builder (the code
 * Helia adds with) builds them: flat directory nodes, HAMT-sharded (murmur3,
 * fanout 256) once the flat node would be over 256 KiB, the profile's
 * `block-bytes` rule.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  CHUNK_HASH_LENGTH, ErrorCode, RAW_CODE, SHA2_256_CODE, ShoalError, UNIXFS_CHUNK_SIZE,
  UNIXFS_MAX_LINKS, chunkCountOf, comparePaths
} from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import { yieldToEventLoop } from '../storage/small-io.js'
import { CidList } from './cid-list.js'
import { DirectoryLayout, emptyDirectory } from './directory-layout.js'
import type { DagBlock, DagEntry } from './directory-layout.js'

export type { DagBlock } from './directory-layout.js'

/** One file to lay out: its path in the share, size, and the SHA-256 of each 1 MiB piece. */
export interface LayoutFile {
  path: string
  size: number
  /** 32 bytes per 1 MiB piece (the last may be short), concatenated. */
  leafDigests: Uint8Array
}

/** The files of a share by index: an array, or a view over a manifest's files ({@link layoutFilesOf}). */
export interface LayoutFiles {
  readonly length: number
  at: (index: number) => LayoutFile | undefined
}

/** The UnixFS DAG of a share: its root, each file's root, and the dag-pb blocks above the leaves. */
export interface UnixfsLayout {
  /** The share's UnixFS CID: a file's root, or the directory root. */
  root: CID
  /** The root of each file, in the order given, packed. */
  fileRoots: CidList
  /** Every dag-pb block (no raw leaves: those are the files' bytes). */
  blocks: DagBlock[]
}

/** The raw leaf CID of bytes whose SHA-256 is `digest`. */
export function rawLeafCid (digest: Uint8Array): CID {
  return CID.createV1(RAW_CODE, createDigest(SHA2_256_CODE, digest))
}

/** The files of a manifest with 1 MiB chunks (their chunk hashes are the leaf digests), viewed one at a time: no copy of the list. */
export function layoutFilesOf (manifest: Manifest): LayoutFiles {
  if (manifest.chunkSize !== UNIXFS_CHUNK_SIZE) {
    throw new ShoalError(ErrorCode.INTERNAL, `chunks of ${manifest.chunkSize} bytes are not the profile's leaves; hash the files in 1 MiB pieces`)
  }
  const { files } = manifest
  return {
    length: files.length,
    at: index => {
      const f = files[index]
      return f === undefined ? undefined : { path: f.path, size: f.size, leafDigests: f.hashes }
    }
  }
}

/** SHA-256 of the empty string: the empty file's raw leaf. */
const EMPTY_DIGEST = Uint8Array.from(Buffer.from('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex'))
/** The empty file's CID (the empty raw block): one object for every empty file of a share; every node can serve it. */
export const EMPTY_FILE_CID = rawLeafCid(EMPTY_DIGEST)
/** Files laid out between two turns of the event loop: a directory of 200,000 files held the daemon for seconds otherwise. */
const FILES_PER_TURN = 2000

/**
 * Lay out one file: the file root and the file nodes above its leaves, in
 * the order the importer writes them (bottom level first).
 */
export async function layoutFile (file: LayoutFile, onBlock: (block: DagBlock) => void = () => {}): Promise<DagEntry> {
  const count = chunkCountOf(file.size, UNIXFS_CHUNK_SIZE)
  if (file.leafDigests.byteLength !== count * CHUNK_HASH_LENGTH) {
    throw new ShoalError(ErrorCode.INTERNAL, `${file.path}: ${file.leafDigests.byteLength / CHUNK_HASH_LENGTH} leaf digests for ${count} leaves`)
  }
  if (count === 0) return { cid: EMPTY_FILE_CID, tsize: 0 }
  // level 0: the raw leaves, each with its file bytes and Tsize = its length
  let level: Array<{ cid: CID, tsize: number, fileSize: number }> = []
  for (let i = 0; i < count; i++) {
    const length = Math.min(UNIXFS_CHUNK_SIZE, file.size - i * UNIXFS_CHUNK_SIZE)
    level.push({ cid: rawLeafCid(file.leafDigests.subarray(i * CHUNK_HASH_LENGTH, (i + 1) * CHUNK_HASH_LENGTH)), tsize: length, fileSize: length })
  }
  // one leaf is the file itself (reduceSingleLeafToSelf)
  if (level.length === 1) return level[0] as { cid: CID, tsize: number }
  // balanced: batches of UNIXFS_MAX_LINKS under one node, level by level, until one is left
  while (level.length > 1) {
    const next: typeof level = []
    for (let at = 0; at < level.length; at += UNIXFS_MAX_LINKS) {
      next.push(await fileNode(level.slice(at, at + UNIXFS_MAX_LINKS), onBlock))
    }
    level = next
  }
  return level[0] as { cid: CID, tsize: number }
}

async function fileNode (children: Array<{ cid: CID, tsize: number, fileSize: number }>, onBlock: (block: DagBlock) => void): Promise<{ cid: CID, tsize: number, fileSize: number }> {
  const unixfs = new UnixFS({ type: 'file' })
  for (const child of children) unixfs.addBlockSize(BigInt(child.fileSize))
  const node = { Data: unixfs.marshal(), Links: children.map(c => ({ Name: '', Tsize: c.tsize, Hash: c.cid })) }
  const bytes = dagPb.encode(dagPb.prepare(node))
  const cid = CID.createV1(dagPb.code, await sha256.digest(bytes))
  onBlock({ cid, bytes })
  const tsize = bytes.byteLength + children.reduce((n, c) => n + c.tsize, 0)
  return { cid, tsize, fileSize: children.reduce((n, c) => n + c.fileSize, 0) }
}

/**
 * Lay out a share: a file share is its file's DAG; a directory share is a
 * directory (files at their paths, `emptyDirs` as empty directories) with
 * the nodes Helia's `addAll` builds ({@link DirectoryLayout}). The files may
 * come in any order (a manifest's are in path order: then nothing is sorted).
 */
export async function layoutShare (kind: 'file' | 'dir', files: LayoutFiles, emptyDirs: readonly string[]): Promise<UnixfsLayout> {
  const blocks: DagBlock[] = []
  const seen = new Set<string>()
  // the same block can come twice (two files with the same bytes, empty directories): keep one
  const keep = (block: DagBlock): void => {
    const key = block.cid.toString()
    if (seen.has(key)) return
    seen.add(key)
    blocks.push(block)
  }
  const roots = CidList.builder(files.length)
  const tsizes = new Float64Array(files.length)
  let sorted = true
  let previous: string | undefined
  for (let i = 0; i < files.length; i++) {
    if (i % FILES_PER_TURN === FILES_PER_TURN - 1) await yieldToEventLoop()
    const file = fileAt(files, i)
    const { cid, tsize } = await layoutFile(file, keep)
    roots.push(cid)
    tsizes[i] = tsize
    if (previous !== undefined && !(file.path > previous)) sorted = false
    previous = file.path
  }
  const fileRoots = roots.build()
  if (kind === 'file') {
    const root = fileRoots.at(0)
    if (root === undefined || files.length !== 1) throw new ShoalError(ErrorCode.INTERNAL, 'a file share has exactly one file')
    return { root, fileRoots, blocks }
  }
  // files and empty directories merged in path order
  const order = sorted ? undefined : Array.from({ length: files.length }, (_, i) => i).sort((a, b) => comparePaths(fileAt(files, a).path, fileAt(files, b).path))
  const dirs = [...emptyDirs].sort(comparePaths)
  const empty = emptyDirectory()
  const layout = new DirectoryLayout(keep)
  // the empty directories that sort before `path` (all that are left, when undefined)
  let d = 0
  const emptyDirsBefore = async (path?: string): Promise<void> => {
    for (; d < dirs.length && (path === undefined || (dirs[d] as string) < path); d++) {
      await layout.add(dirs[d] as string, empty.cid.bytes, empty.bytes.byteLength)
      keep(empty)
    }
  }
  for (let k = 0; k < files.length; k++) {
    if (k % FILES_PER_TURN === FILES_PER_TURN - 1) await yieldToEventLoop()
    const i = order?.[k] ?? k
    const { path } = fileAt(files, i)
    await emptyDirsBefore(path)
    await layout.add(path, fileRoots.bytesAt(i) as Uint8Array, tsizes[i] as number)
  }
  await emptyDirsBefore()
  const { cid: root } = await layout.finish()
  return { root, fileRoots, blocks }
}

function fileAt (files: LayoutFiles, index: number): LayoutFile {
  const file = files.at(index)
  if (file === undefined) throw new ShoalError(ErrorCode.INTERNAL, `layout: no file at ${index} of ${files.length}`)
  return file
}
