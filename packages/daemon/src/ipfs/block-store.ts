/**
 * Every IPFS block this node can serve, by multihash (as Kubo's blockstore
 * keys them: a block asked for as CIDv0 or CIDv1 is the same block). The
 * dag-pb nodes live in the repo (ipfs-records.ts); the leaves are the bytes
 * of shared files, read in place through the share's ChunkSource, which
 * verifies every chunk against its hash, and — when a leaf is not exactly one
 * chunk — hashed again against the leaf's own CID before it leaves.
 */
import { CID } from 'multiformats/cid'
import { CHUNK_HASH_LENGTH, ChunkLayout, SHA2_256_CODE } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import type { ChunkSource } from '../storage/chunk-source.js'
import { sha256 } from '../storage/chunk-hash.js'
import { ChunkDigestIndex } from './chunk-digest-index.js'
import type { CidList } from './cid-list.js'
import type { IpfsRecords, LeafEntry } from './ipfs-records.js'
import { EMPTY_FILE_CID } from './unixfs-layout.js'

type BlockRef =
  | { kind: 'node', share: string, cid: string }
  | { kind: 'leaf', share: string, leaf: LeafEntry }

/** One share's DAG as indexed. */
interface IndexedShare {
  root: CID
  fileRoots: CidList
  keys: string[]
  /** Where each file's chunks are. */
  layout: ChunkLayout
  /** The share's chunks by digest, when they are its raw leaves (1 MiB chunks). */
  chunks?: ChunkDigestIndex
}

export interface BlockStoreComponents {
  records: IpfsRecords
  /** The verified chunks of a share (undefined when not served, e.g. stale). */
  lookup: (share: string) => ChunkSource | undefined
  log: Logger
}

/** Blocks by multihash: dag-pb nodes from the repo, leaves read in place and verified. */
export class IpfsBlockStore {
  private readonly c: BlockStoreComponents
  private readonly refs = new Map<string, BlockRef[]>()
  private readonly shares = new Map<string, IndexedShare>()

  constructor (components: BlockStoreComponents) {
    this.c = components
  }

  /**
   * Index a share's DAG: its dag-pb blocks (stored), and its leaves — its
   * chunks (`'chunks'`) or a leaf table.
   */
  index (share: string, layout: ChunkLayout, dag: { root: CID, fileRoots: CidList, blocks: string[], leaves: 'chunks' | LeafEntry[] }): void {
    this.unindex(share)
    const keys: string[] = []
    const add = (cid: CID, ref: BlockRef): void => {
      const key = keyOf(cid)
      const list = this.refs.get(key)
      if (list === undefined) this.refs.set(key, [ref])
      else list.push(ref)
      keys.push(key)
    }
    for (const text of dag.blocks) add(CID.parse(text), { kind: 'node', share, cid: text })
    // a share's chunks are its leaves: found by digest in a table of their own, not a key each
    const chunks = dag.leaves === 'chunks' ? new ChunkDigestIndex(layout) : undefined
    if (dag.leaves !== 'chunks') {
      for (const leaf of dag.leaves) add(leaf.cid, { kind: 'leaf', share, leaf })
    }
    this.shares.set(share, { root: dag.root, fileRoots: dag.fileRoots, keys, layout, ...(chunks !== undefined ? { chunks } : {}) })
  }

  unindex (share: string): void {
    const entry = this.shares.get(share)
    if (entry === undefined) return
    this.shares.delete(share)
    for (const key of entry.keys) {
      const left = (this.refs.get(key) ?? []).filter(r => r.share !== share)
      if (left.length === 0) this.refs.delete(key)
      else this.refs.set(key, left)
    }
  }

  /** The UnixFS root of a share, when indexed. */
  rootOf (share: string): CID | undefined {
    return this.shares.get(share)?.root
  }

  /** Each file's UnixFS root, in manifest order, when indexed. */
  fileRootsOf (share: string): CidList | undefined {
    return this.shares.get(share)?.fileRoots
  }

  /** Shares indexed, by Shoal content id. */
  sharesIndexed (): string[] {
    return [...this.shares.keys()]
  }

  /** True when a share that is served now holds `cid` (no I/O). */
  has (cid: CID): boolean {
    if (cid.multihash.code === EMPTY_FILE_CID.multihash.code && equalBytes(cid.multihash.digest, EMPTY_FILE_CID.multihash.digest)) return true
    if ((this.refs.get(keyOf(cid)) ?? []).some(r => this.c.lookup(r.share) !== undefined)) return true
    return this.chunkOf(cid) !== undefined
  }

  /** A served share's chunk whose hash is `cid`'s SHA-256 digest. */
  private chunkOf (cid: CID): { source: ChunkSource, index: number, share: string } | undefined {
    if (cid.multihash.code !== SHA2_256_CODE) return undefined
    for (const [share, entry] of this.shares) {
      const index = entry.chunks?.find(cid.multihash.digest)
      if (index === undefined) continue
      const source = this.c.lookup(share)
      if (source !== undefined) return { source, index, share }
    }
    return undefined
  }

  /**
   * The bytes of `cid`, verified against it, or undefined when no served
   * share has it (or what is on disk no longer matches: the share then turns
   * stale, see FileSource).
   */
  async get (cid: CID): Promise<Uint8Array | undefined> {
    if (equalBytes(cid.multihash.bytes, EMPTY_FILE_CID.multihash.bytes)) return new Uint8Array(0)
    for (const ref of this.refs.get(keyOf(cid)) ?? []) {
      const source = this.c.lookup(ref.share)
      if (source === undefined) continue
      try {
        const bytes = await this.read(ref, source)
        if (bytes !== undefined) return bytes
      } catch (err) {
        this.c.log('cannot read block %c of share %s: %e', cid, ref.share, err)
      }
    }
    const chunk = this.chunkOf(cid)
    if (chunk === undefined) return undefined
    try {
      return await chunk.source.readChunk(chunk.index) // verified: the chunk hash is the leaf's digest
    } catch (err) {
      this.c.log('cannot read block %c (chunk %d of share %s): %e', cid, chunk.index, chunk.share, err)
      return undefined
    }
  }

  private async read (ref: BlockRef, source: ChunkSource): Promise<Uint8Array | undefined> {
    if (ref.kind === 'node') {
      const bytes = await this.c.records.block(ref.share, ref.cid)
      return bytes !== undefined && matches(CID.parse(ref.cid), bytes) ? bytes : undefined
    }
    const share = this.shares.get(ref.share)
    if (share === undefined) return undefined
    const { leaf } = ref
    const data = await readSlice(source, share, leaf.file, leaf.offset, leaf.length)
    const bytes = concat([leaf.prefix, data, leaf.suffix])
    return matches(leaf.cid, bytes) ? bytes : undefined
  }
}

/** Bytes `[offset, offset + length)` of file `file` of a share, from its verified chunks. */
async function readSlice (source: ChunkSource, share: IndexedShare, file: number, offset: number, length: number): Promise<Uint8Array> {
  if (length === 0) return new Uint8Array(0)
  const { chunkSize } = share.layout.manifest
  const fileFirst = share.layout.fileRange(file).first
  const first = fileFirst + Math.floor(offset / chunkSize)
  const last = fileFirst + Math.floor((offset + length - 1) / chunkSize)
  const out = new Uint8Array(length)
  let at = 0
  for (let g = first; g <= last; g++) {
    const chunk = await source.readChunk(g)
    const chunkStart = (g - fileFirst) * chunkSize
    const from = Math.max(0, offset - chunkStart)
    const to = Math.min(chunk.byteLength, offset + length - chunkStart)
    out.set(chunk.subarray(from, to), at)
    at += to - from
  }
  return out
}

/** True when `bytes` hash (sha2-256) to `cid`'s digest. */
export function matches (cid: CID, bytes: Uint8Array): boolean {
  const digest = sha256(bytes)
  return digest.byteLength === CHUNK_HASH_LENGTH && equalBytes(digest, cid.multihash.digest)
}

/** The index key of a CID: its multihash. */
export function keyOf (cid: CID): string {
  return Buffer.from(cid.multihash.bytes).toString('base64')
}

function concat (parts: Array<Uint8Array | undefined>): Uint8Array {
  const present = parts.filter((p): p is Uint8Array => p !== undefined && p.byteLength > 0)
  if (present.length === 1) return present[0] as Uint8Array
  return Buffer.concat(present)
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}
