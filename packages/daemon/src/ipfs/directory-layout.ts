/**
 * The UnixFS directories of a share, built one directory at a time as the
 * entries stream past in path order: only the open directories (the path
 * from the root to the current entry) hold their links, so a share of
 * 200,000 files in 100 folders keeps ~2,000 links in memory, not a tree of
 * 200,000 nodes.
 *
 * The nodes are byte for byte those of `ipfs-unixfs-importer`'s tree
 * builder (what Helia adds with) under the `block-bytes` split rule:
 * - a directory stays one flat dag-pb node unless the node's size, counting
 *   only its links to files and empty directories (the importer adds a
 *   sub-directory before it has a CID, and counts it as 0 bytes), is over the
 *   threshold;
 * - a flat node's links are sorted by name (dag-pb's canonical order) and
 *   each has Tsize = the child's cumulative size; a directory's own size is
 *   its block's length plus its links' sizes;
 * - a directory over the threshold is a HAMT, built by the importer itself
 *   from this directory's links alone (the HAMT's shape depends only on the
 *   names).
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { importer } from 'ipfs-unixfs-importer'
import type { ImportCandidateStream, InProgressImportResult } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { ErrorCode, SHA2_256_CODE, ShoalError, UNIXFS_HAMT_FANOUT, UNIXFS_HAMT_THRESHOLD_BYTES } from '@shoal/protocol'
import { sha256 } from '../storage/chunk-hash.js'
import { CidList } from './cid-list.js'
import type { CidListBuilder } from './cid-list.js'

/** A dag-pb block of a layout: a file node, a directory node or a HAMT shard. */
export interface DagBlock {
  cid: CID
  bytes: Uint8Array
}

/** A built node as its parent links to it. */
export interface DagEntry {
  cid: CID
  /** Cumulative size: the node's bytes and everything under it (a link's Tsize). */
  tsize: number
}

/**
 * A directory being filled: its links' names, CIDs (packed: a directory
 * holds its links until its last entry has passed, long enough for V8 to
 * move `CID` objects to the old generation, where 200,000 of them were
 * ~70 MB of garbage) and sizes.
 */
interface OpenDirectory {
  /** Path in the share, '' for the root. */
  path: string
  names: string[]
  cids: CidListBuilder
  tsizes: number[]
  /** Encoded size of the flat node so far, counting links to files and empty directories only. */
  countedBytes: number
}

function openDirectory (path: string): OpenDirectory {
  return { path, names: [], cids: CidList.builder(), tsizes: [], countedBytes: DIRECTORY_DATA_FIELD_BYTES }
}

/** The Data field of a directory node (type directory, no mode, no mtime): tag, length, [0x08 0x01]. */
const DIRECTORY_DATA_FIELD_BYTES = 4

/** The block of an empty directory: every empty directory of a share is this one block. */
export function emptyDirectory (): DagBlock {
  return dagPbBlock(encodeFlatDirectory([]))
}

/** A dag-pb block and its CIDv1. */
function dagPbBlock (bytes: Uint8Array): DagBlock {
  return { cid: CID.createV1(dagPb.code, createDigest(SHA2_256_CODE, sha256(bytes))), bytes }
}

/**
 * Builds a share's directories from entries given in path order
 * ({@link add}), then {@link finish} gives the root. Every block is handed to
 * `onBlock` once per directory node built.
 */
export class DirectoryLayout {
  private readonly stack: OpenDirectory[] = [openDirectory('')]
  private last: string | undefined

  constructor (private readonly onBlock: (block: DagBlock) => void) {}

  /** Add a file or an empty directory at `path` (paths strictly increasing, '/'-separated); `cid`: its CID's bytes. */
  async add (path: string, cid: Uint8Array, tsize: number): Promise<void> {
    if (this.last !== undefined && !(path > this.last)) {
      throw new ShoalError(ErrorCode.INTERNAL, `directory layout: ${path} after ${this.last}: entries must come in path order`)
    }
    this.last = path
    const slash = path.lastIndexOf('/')
    const parent = slash < 0 ? '' : path.slice(0, slash)
    const name = path.slice(slash + 1)
    // close the directories this entry is not in
    while (!within(parent, this.top().path)) await this.close()
    // open the ones it is in and that are not open yet
    for (let at = this.top().path.length === 0 ? 0 : this.top().path.length + 1; at <= parent.length && parent !== '';) {
      const end = parent.indexOf('/', at)
      const next = end < 0 ? parent.length : end
      this.stack.push(openDirectory(parent.slice(0, next)))
      at = next + 1
    }
    const top = this.top()
    this.link(top, name, cid, tsize)
    top.countedBytes += linkBytes(utf8Length(name), cid.byteLength, tsize)
  }

  /** Close every open directory: the root's node. */
  async finish (): Promise<DagEntry> {
    while (this.stack.length > 1) await this.close()
    const root = this.stack.pop()
    if (root === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'directory layout finished twice')
    return await this.build(root)
  }

  private top (): OpenDirectory {
    return this.stack[this.stack.length - 1] as OpenDirectory
  }

  /** Build the innermost open directory and link it from its parent (a sub-directory: not counted, as the importer does). */
  private async close (): Promise<void> {
    const dir = this.stack.pop() as OpenDirectory
    const built = await this.build(dir)
    const slash = dir.path.lastIndexOf('/')
    this.link(this.top(), dir.path.slice(slash + 1), built.cid.bytes, built.tsize)
  }

  private link (dir: OpenDirectory, name: string, cid: Uint8Array, tsize: number): void {
    dir.names.push(name)
    dir.cids.push(cid)
    dir.tsizes.push(tsize)
  }

  private async build (dir: OpenDirectory): Promise<DagEntry> {
    const cids = dir.cids.build()
    if (dir.countedBytes > UNIXFS_HAMT_THRESHOLD_BYTES) {
      return await this.buildSharded(dir.path, dir.names.map((name, i) => ({ name, cid: cids.at(i) as CID, tsize: dir.tsizes[i] as number })))
    }
    const links = dir.names
      .map((name, i) => ({ name: Buffer.from(name, 'utf8'), cid: cids.bytesAt(i) as Uint8Array, tsize: dir.tsizes[i] as number }))
      .sort((a, b) => Buffer.compare(a.name, b.name))
    const block = dagPbBlock(encodeFlatDirectory(links))
    this.onBlock(block)
    return { cid: block.cid, tsize: links.reduce((n, l) => n + l.tsize, block.bytes.byteLength) }
  }

  /** A HAMT: the importer's tree builder, given this directory's links as ready-made entries. */
  private async buildSharded (path: string, links: Array<{ name: string, cid: CID, tsize: number }>): Promise<DagEntry> {
    const entries: InProgressImportResult[] = links.map(l => ({ cid: l.cid, path: l.name, size: BigInt(l.tsize) }))
    const collect = { put: async (cid: CID, bytes: Uint8Array) => { this.onBlock({ cid, bytes }); return cid } }
    let root: DagEntry | undefined
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
      if (entry.path === '') root = { cid: entry.cid, tsize: Number(entry.size) }
    }
    if (root === undefined) throw new ShoalError(ErrorCode.INTERNAL, `the UnixFS importer built no node for ${path === '' ? 'the root' : path}`)
    return root
  }
}

/** `dir` is `open` or under it. */
function within (dir: string, open: string): boolean {
  return open === '' || dir === open || (dir.length > open.length && dir.startsWith(open) && dir.charCodeAt(open.length) === 0x2f)
}

/** Bytes of a varint (protobuf, unsigned). */
function varintLength (n: number): number {
  let length = 1
  while (n >= 0x80) {
    n = Math.floor(n / 0x80)
    length++
  }
  return length
}

/** The Data of every directory node: UnixFS `{ Type: Directory }`. */
const DIRECTORY_DATA = new UnixFS({ type: 'directory' }).marshal()

/**
 * A flat directory's dag-pb node (PROTOCOL.md: the PBNode's Links, field 2,
 * before its Data, field 1; each PBLink's Hash, Name and Tsize, fields 1 to
 * 3), written in one pass into one buffer; `links` sorted by name bytes, as
 * dag-pb requires. The same bytes as `dagPb.encode(dagPb.prepare(node))`
 * (checked in ipfs-layout.test.ts), without its per-comparison name
 * encoding: 2,000 links cost dag-pb ~10,000 `TextEncoder` calls.
 */
export function encodeFlatDirectory (links: ReadonlyArray<{ name: Uint8Array, cid: Uint8Array, tsize: number }>): Uint8Array {
  let size = 1 + varintLength(DIRECTORY_DATA.byteLength) + DIRECTORY_DATA.byteLength
  for (const l of links) size += linkBytes(l.name.byteLength, l.cid.byteLength, l.tsize)
  const out = new Uint8Array(size)
  let at = 0
  const varint = (n: number): void => {
    while (n >= 0x80) {
      out[at++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    out[at++] = n
  }
  const field = (tag: number, bytes: Uint8Array): void => {
    out[at++] = tag
    varint(bytes.byteLength)
    out.set(bytes, at)
    at += bytes.byteLength
  }
  for (const l of links) {
    out[at++] = 0x12
    varint(linkBodyBytes(l.name.byteLength, l.cid.byteLength, l.tsize))
    field(0x0a, l.cid)
    field(0x12, l.name)
    out[at++] = 0x18
    varint(l.tsize)
  }
  field(0x0a, DIRECTORY_DATA)
  if (at !== size) throw new ShoalError(ErrorCode.INTERNAL, `a directory node came out ${at} bytes, not ${size}`)
  return out
}

/** Bytes a PBLink adds to a PBNode: field tag, length, and the link itself. */
function linkBytes (nameBytes: number, cidBytes: number, tsize: number): number {
  const link = linkBodyBytes(nameBytes, cidBytes, tsize)
  return 1 + varintLength(link) + link
}

/** Bytes of a PBLink's own fields: Hash, Name and Tsize, each with its tag. */
function linkBodyBytes (nameBytes: number, cidBytes: number, tsize: number): number {
  return 1 + varintLength(cidBytes) + cidBytes + 1 + varintLength(nameBytes) + nameBytes + 1 + varintLength(tsize)
}

/** UTF-8 length of a string (names are valid UTF-16: the manifest checks them). */
function utf8Length (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
