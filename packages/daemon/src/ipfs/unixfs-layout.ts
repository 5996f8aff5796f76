/**
 * The UnixFS DAG of a share under the `unixfs-v1-2025` profile (IPIP-0499),
 * computed from leaf digests alone — never from the bytes again. A file is
 * 1 MiB raw leaves (CIDv1, raw, sha2-256: for a 1 MiB share, exactly its
 * chunks and their hashes) under a balanced tree of file nodes of at most
 * 1024 links; a file of one leaf is that leaf, an empty file the empty raw
 * block. Directories are built by `ipfs-unixfs-importer`'s own tree builder
 * (the code Helia adds with), fed the file roots computed here: flat
 * directory nodes, HAMT-sharded (murmur3, fanout 256) once the flat node
 * would be over 256 KiB, the profile's `block-bytes` rule.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import type { ImportCandidateStream, InProgressImportResult } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  CHUNK_HASH_LENGTH, ErrorCode, RAW_CODE, SHA2_256_CODE, ShoalError, UNIXFS_CHUNK_SIZE, UNIXFS_HAMT_FANOUT,
  UNIXFS_HAMT_THRESHOLD_BYTES, UNIXFS_MAX_LINKS, chunkCountOf
} from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import { yieldToEventLoop } from '../storage/small-io.js'

/** One file to lay out: its path in the share, size, and the SHA-256 of each 1 MiB piece. */
export interface LayoutFile {
  path: string
  size: number
  /** 32 bytes per 1 MiB piece (the last may be short), concatenated. */
  leafDigests: Uint8Array
}

/** A dag-pb block of a layout: a file node, a directory node or a HAMT shard. */
export interface DagBlock {
  cid: CID
  bytes: Uint8Array
}

/** The UnixFS DAG of a share: its root, each file's root, and the dag-pb blocks above the leaves. */
export interface UnixfsLayout {
  /** The share's UnixFS CID: a file's root, or the directory root. */
  root: CID
  /** The root of each file, in the order given. */
  fileRoots: CID[]
  /** Every dag-pb block (no raw leaves: those are the files' bytes). */
  blocks: DagBlock[]
}

/** The raw leaf CID of bytes whose SHA-256 is `digest`. */
export function rawLeafCid (digest: Uint8Array): CID {
  return CID.createV1(RAW_CODE, createDigest(SHA2_256_CODE, digest))
}

/** The files of a manifest with 1 MiB chunks: their chunk hashes are the leaf digests. */
export function layoutFilesOf (manifest: Manifest): LayoutFile[] {
  if (manifest.chunkSize !== UNIXFS_CHUNK_SIZE) {
    throw new ShoalError(ErrorCode.INTERNAL, `chunks of ${manifest.chunkSize} bytes are not the profile's leaves; hash the files in 1 MiB pieces`)
  }
  return manifest.files.map(f => ({ path: f.path, size: f.size, leafDigests: f.hashes }))
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
export async function layoutFile (file: LayoutFile, blocks: DagBlock[] = []): Promise<{ cid: CID, tsize: number }> {
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
      next.push(await fileNode(level.slice(at, at + UNIXFS_MAX_LINKS), blocks))
    }
    level = next
  }
  return level[0] as { cid: CID, tsize: number }
}

async function fileNode (children: Array<{ cid: CID, tsize: number, fileSize: number }>, blocks: DagBlock[]): Promise<{ cid: CID, tsize: number, fileSize: number }> {
  const unixfs = new UnixFS({ type: 'file' })
  for (const child of children) unixfs.addBlockSize(BigInt(child.fileSize))
  const node = { Data: unixfs.marshal(), Links: children.map(c => ({ Name: '', Tsize: c.tsize, Hash: c.cid })) }
  const bytes = dagPb.encode(dagPb.prepare(node))
  const cid = CID.createV1(dagPb.code, await sha256.digest(bytes))
  blocks.push({ cid, bytes })
  const tsize = bytes.byteLength + children.reduce((n, c) => n + c.tsize, 0)
  return { cid, tsize, fileSize: children.reduce((n, c) => n + c.fileSize, 0) }
}

/**
 * Lay out a share: a file share is its file's DAG; a directory share is a
 * directory (files at their paths, `dirs` as empty directories) built by the
 * importer's tree builder, as Helia's `addAll` builds it.
 */
export async function layoutShare (kind: 'file' | 'dir', files: LayoutFile[], emptyDirs: string[]): Promise<UnixfsLayout> {
  const blocks: DagBlock[] = []
  const fileRoots: CID[] = []
  const entries: InProgressImportResult[] = []
  for (const [i, file] of files.entries()) {
    if (i % FILES_PER_TURN === FILES_PER_TURN - 1) await yieldToEventLoop()
    const { cid, tsize } = await layoutFile(file, blocks)
    fileRoots.push(cid)
    entries.push({ cid, path: file.path, size: BigInt(tsize) })
  }
  if (kind === 'file') {
    const root = fileRoots[0]
    if (root === undefined || files.length !== 1) throw new ShoalError(ErrorCode.INTERNAL, 'a file share has exactly one file')
    return { root, fileRoots, blocks }
  }
  for (const dir of emptyDirs) {
    const unixfs = new UnixFS({ type: 'directory' })
    const bytes = dagPb.encode(dagPb.prepare({ Data: unixfs.marshal() }))
    const cid = CID.createV1(dagPb.code, await sha256.digest(bytes))
    blocks.push({ cid, bytes })
    entries.push({ cid, path: dir, size: BigInt(bytes.byteLength), unixfs })
  }
  const collect = { put: async (cid: CID, bytes: Uint8Array) => { blocks.push({ cid, bytes }); return cid } }
  let root: CID | undefined
  for await (const entry of importer(entries as unknown as ImportCandidateStream, collect, {
    wrapWithDirectory: true,
    cidVersion: 1,
    rawLeaves: true,
    shardSplitStrategy: 'block-bytes',
    shardSplitThresholdBytes: UNIXFS_HAMT_THRESHOLD_BYTES,
    shardFanoutBits: Math.log2(UNIXFS_HAMT_FANOUT),
    // the entries are already built: hand them to the tree builder as they are
    dagBuilder: async function * (source) {
      for await (const entry of source as unknown as AsyncIterable<InProgressImportResult>) yield async () => entry
    }
  })) {
    if (entry.path === '') root = entry.cid
  }
  if (root === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'the UnixFS importer built no directory root')
  return { root, fileRoots, blocks: dedupe(blocks) }
}

/** The same block can be written twice (an empty directory, a file in two places): keep one of each. */
function dedupe (blocks: DagBlock[]): DagBlock[] {
  const seen = new Set<string>()
  return blocks.filter(b => {
    const key = b.cid.toString()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
