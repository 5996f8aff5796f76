/**
 * Gives every share its UnixFS DAG and keeps the block store's index in
 * step with the share registry. A share with 1 MiB chunks (the default) is
 * laid out from its manifest alone: its chunk hashes are the leaves. A share
 * with another chunk size is read once more, in 1 MiB pieces, to hash its
 * leaves (its chunks cannot be raw leaves of the profile); its leaves are
 * then served as slices of its verified chunks, hashed again before they
 * leave. A share fetched from IPFS keeps the DAG it was fetched as.
 */
import fs from 'node:fs/promises'
import nodePath from 'node:path'
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { ChunkLayout, ErrorCode, ShoalError, UNIXFS_CHUNK_SIZE, decodeManifest } from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import type { Records, ShareRecord } from '../storage/records.js'
import { fsError } from '../errors.js'
import type { IpfsBlockStore } from './block-store.js'
import { CidList } from './cid-list.js'
import type { IpfsRecords, IpfsShareRecord, LeafEntry } from './ipfs-records.js'
import { layoutFilesOf, layoutShare, rawLeafCid } from './unixfs-layout.js'
import type { LayoutFile, UnixfsLayout } from './unixfs-layout.js'

export interface IpfsSharesComponents {
  records: Records
  ipfsRecords: IpfsRecords
  store: IpfsBlockStore
  /** The share's record (path, kind), when shared. */
  share: (cid: string) => ShareRecord | undefined
  /** The chunk layout (and manifest) of a share being served: what the registry decoded already. */
  layout: (cid: string) => ChunkLayout | undefined
  /** Every share this node holds. */
  list: () => Array<{ cid: string, stale: boolean }>
  log: Logger
}

/** A DAG fetched from IPFS, to keep with the share it became. */
export interface FetchedDag {
  root: CID
  fileRoots: CID[]
  blocks: Array<{ cid: CID, bytes: Uint8Array }>
  leaves: LeafEntry[]
}

/** The UnixFS side of the share registry. */
export class IpfsShares {
  private readonly c: IpfsSharesComponents
  /** Layouts being computed, so a share is laid out once however many ask. */
  private readonly pending = new Map<string, Promise<CID | undefined>>()

  constructor (components: IpfsSharesComponents) {
    this.c = components
  }

  /** Index every share that has a DAG; lay out (in the background) those made before this node had IPFS, and those whose record is damaged. */
  async load (): Promise<void> {
    for (const { cid } of this.c.list()) {
      const record = await this.c.ipfsRecords.get(cid)
      if (record === undefined) {
        void this.added(cid)
        continue
      }
      // a record that cannot be indexed (parts of it missing): lay the share out again
      await this.indexRecord(cid, record).catch(err => {
        this.c.log.error('cannot index the UnixFS DAG of %s, laying it out again: %e', cid, err)
        void this.added(cid)
      })
    }
  }

  /** The UnixFS root of a share: from the index, else laid out now. */
  async rootOf (cid: string): Promise<CID | undefined> {
    return this.c.store.rootOf(cid) ?? await this.added(cid)
  }

  /** A share was added (shared, or fetched by Shoal's protocol): lay it out unless it has a DAG already. */
  async added (cid: string): Promise<CID | undefined> {
    const known = this.c.store.rootOf(cid)
    if (known !== undefined) return known
    let running = this.pending.get(cid)
    if (running === undefined) {
      running = this.layOut(cid).catch(err => { this.c.log.error('cannot lay out %s as UnixFS: %e', cid, err); return undefined })
      this.pending.set(cid, running)
      void running.finally(() => { this.pending.delete(cid) })
    }
    return await running
  }

  /** Keep the DAG a fetch from IPFS was made of, for the share it became. */
  async addFetched (cid: string, dag: FetchedDag): Promise<void> {
    const fileRoots = CidList.of(dag.fileRoots)
    const record: IpfsShareRecord = {
      root: dag.root.toString(),
      fileRootsStored: true,
      blocks: dag.blocks.map(b => b.cid.toString()),
      leaves: 'table'
    }
    await this.c.ipfsRecords.put(cid, record, dag.blocks, dag.leaves, fileRoots.toBytes())
    await this.indexRecord(cid, record, dag.leaves, fileRoots)
  }

  /** A share was removed: forget its DAG. */
  async removed (cid: string): Promise<void> {
    this.c.store.unindex(cid)
    await this.c.ipfsRecords.delete(cid)
  }

  private async layOut (cid: string): Promise<CID | undefined> {
    const share = this.c.share(cid)
    if (share === undefined) return undefined
    // (the registry's copy when it serves the share: a 200,000-file manifest decoded again is ~100 MB of heap)
    const chunks = this.c.layout(cid) ?? await this.decoded(cid)
    if (chunks === undefined) return undefined
    const { manifest } = chunks
    let layout: UnixfsLayout
    let leaves: LeafEntry[] | undefined
    if (manifest.chunkSize === UNIXFS_CHUNK_SIZE) {
      layout = await layoutShare(manifest.kind, layoutFilesOf(manifest), manifest.dirs)
    } else {
      const files = await hashLeaves(manifest, share.path)
      layout = await layoutShare(manifest.kind, files, manifest.dirs)
      leaves = leafTable(files)
    }
    // unshared while we worked: keep nothing
    if (this.c.share(cid) === undefined) return undefined
    // packed, not as strings: 200,000 CID.toString()s took ~360 MB of heap
    const { fileRoots } = layout
    const record: IpfsShareRecord = {
      root: layout.root.toString(),
      fileRootsStored: true,
      blocks: layout.blocks.map(b => b.cid.toString()),
      leaves: leaves === undefined ? 'chunks' : 'table'
    }
    await this.c.ipfsRecords.put(cid, record, layout.blocks, leaves, fileRoots.toBytes())
    this.c.store.index(cid, chunks, { root: layout.root, fileRoots, blocks: record.blocks, leaves: leaves ?? 'chunks' })
    this.c.log('%s is %c in UnixFS', cid, layout.root)
    return layout.root
  }

  /** A record's file roots: stored apart, or (records written before) base64 in the record, or strings. */
  private async fileRootsOf (cid: string, record: IpfsShareRecord): Promise<CidList> {
    if (record.fileRootsStored === true) {
      const bytes = await this.c.ipfsRecords.fileRoots(cid)
      if (bytes === undefined) throw new ShoalError(ErrorCode.REPO_INVALID, `the UnixFS record of ${cid} names file roots the repo does not hold`)
      return CidList.fromBytes(bytes)
    }
    if (record.fileRoots !== undefined) return CidList.fromBytes(Buffer.from(record.fileRoots, 'base64'))
    return CidList.of((record.files ?? []).map(f => CID.parse(f)))
  }

  /** A share's manifest from the repo, laid out in chunks. */
  private async decoded (cid: string): Promise<ChunkLayout | undefined> {
    const bytes = await this.c.records.getManifest(cid)
    return bytes === undefined ? undefined : new ChunkLayout(decodeManifest(bytes))
  }

  private async indexRecord (cid: string, record: IpfsShareRecord, table?: LeafEntry[], fileRoots?: CidList): Promise<void> {
    const chunks = this.c.layout(cid) ?? await this.decoded(cid)
    if (chunks === undefined) return
    const leaves = record.leaves === 'chunks' ? 'chunks' : table ?? await this.c.ipfsRecords.leaves(cid)
    this.c.store.index(cid, chunks, {
      root: CID.parse(record.root),
      fileRoots: fileRoots ?? await this.fileRootsOf(cid, record),
      blocks: record.blocks,
      leaves
    })
  }
}

/** Read a share's files in 1 MiB pieces and hash each: the profile's leaves. */
async function hashLeaves (manifest: Manifest, root: string): Promise<LayoutFile[]> {
  const out: LayoutFile[] = []
  const buffer = Buffer.allocUnsafe(UNIXFS_CHUNK_SIZE)
  for (const file of manifest.files) {
    const filePath = manifest.kind === 'file' ? root : nodePath.join(root, ...file.path.split('/'))
    const digests: Buffer[] = []
    let handle: fs.FileHandle | undefined
    try {
      handle = await fs.open(filePath, 'r')
      for (let at = 0; at < file.size; at += UNIXFS_CHUNK_SIZE) {
        const length = Math.min(UNIXFS_CHUNK_SIZE, file.size - at)
        const { bytesRead } = await handle.read(buffer, 0, length, at)
        if (bytesRead !== length) throw new Error(`${filePath} is shorter than when it was shared`)
        digests.push(createHash('sha256').update(buffer.subarray(0, length)).digest())
      }
    } catch (err) {
      throw fsError(err, 'cannot read', filePath)
    } finally {
      await handle?.close()
    }
    out.push({ path: file.path, size: file.size, leafDigests: Buffer.concat(digests) })
  }
  return out
}

/** Where the leaves of files hashed in 1 MiB pieces are. */
function leafTable (files: LayoutFile[]): LeafEntry[] {
  const out: LeafEntry[] = []
  files.forEach((file, index) => {
    for (let at = 0, i = 0; at < file.size; at += UNIXFS_CHUNK_SIZE, i++) {
      out.push({ cid: rawLeafCid(file.leafDigests.subarray(i * 32, i * 32 + 32)), file: index, offset: at, length: Math.min(UNIXFS_CHUNK_SIZE, file.size - at) })
    }
  })
  return out
}
