/**
 * The IPFS side's records in the repo's datastore, beside Shoal's own
 * (storage/records.ts): per share, its UnixFS root and the dag-pb blocks
 * built or fetched for it, and — when its leaves are not simply its 1 MiB
 * chunks — the table saying where each leaf's bytes are.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import { getIfStored } from '../storage/datastore-read.js'

/** Where one leaf's bytes are: `prefix ‖ file[offset, offset + length) ‖ suffix` hashes to `cid`. */
export interface LeafEntry {
  cid: CID
  /** Index of the file in the share's manifest. */
  file: number
  offset: number
  length: number
  /** dag-pb framing before the file bytes (a UnixFS leaf node; empty for a raw leaf). */
  prefix?: Uint8Array
  /** dag-pb framing after them. */
  suffix?: Uint8Array
}

/** What the repo keeps of one share's UnixFS DAG. */
export interface IpfsShareRecord {
  /** The share's UnixFS root. */
  root: string
  /**
   * Each manifest file's UnixFS root, in manifest order, is a value of its
   * own: the CIDs' bytes back to back (see {@link CidList}, {@link IpfsRecords.fileRoots}).
   * Kept apart from this JSON: base64 in it, 200,000 roots were 9.6 MB of
   * text copied four times on the way to the datastore.
   */
  fileRootsStored?: true
  /** The same, base64 in the record, as records written before `fileRootsStored` have it. */
  fileRoots?: string
  /** The same as strings, as older records have it. */
  files?: string[]
  /** CIDs of the dag-pb blocks stored for it. */
  blocks: string[]
  /** `chunks`: its 1 MiB chunks are the leaves; `table`: see {@link LeafEntry}. */
  leaves: 'chunks' | 'table'
}

const PREFIX = {
  share: '/shoal/ipfs/share/',
  block: '/shoal/ipfs/block/',
  leaves: '/shoal/ipfs/leaves/',
  roots: '/shoal/ipfs/roots/'
} as const

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The IPFS records of shares, keyed by the share's Shoal content id. */
export class IpfsRecords {
  constructor (private readonly ds: Datastore) {}

  /** Store a share's DAG: its blocks, leaf table and file roots (packed CIDs: `record.fileRootsStored`), then the record that names them. */
  async put (share: string, record: IpfsShareRecord, blocks: Array<{ cid: CID, bytes: Uint8Array }>, leaves?: LeafEntry[], fileRoots?: Uint8Array): Promise<void> {
    for (const block of blocks) await this.ds.put(blockKey(share, block.cid.toString()), block.bytes)
    if (leaves !== undefined) await this.ds.put(new Key(PREFIX.leaves + share), encodeLeaves(leaves))
    if (fileRoots !== undefined) await this.ds.put(new Key(PREFIX.roots + share), fileRoots)
    await this.ds.put(new Key(PREFIX.share + share), encoder.encode(JSON.stringify(record)))
  }

  async get (share: string): Promise<IpfsShareRecord | undefined> {
    const bytes = await getIfStored(this.ds, new Key(PREFIX.share + share))
    if (bytes === undefined) return undefined
    try {
      return JSON.parse(decoder.decode(bytes)) as IpfsShareRecord
    } catch {
      return undefined
    }
  }

  /** A stored dag-pb block of `share`, or undefined. */
  async block (share: string, cid: string): Promise<Uint8Array | undefined> {
    return await getIfStored(this.ds, blockKey(share, cid))
  }

  /** A share's file roots as stored apart (`fileRootsStored`): CIDs back to back. */
  async fileRoots (share: string): Promise<Uint8Array | undefined> {
    return await getIfStored(this.ds, new Key(PREFIX.roots + share))
  }

  async leaves (share: string): Promise<LeafEntry[]> {
    const bytes = await getIfStored(this.ds, new Key(PREFIX.leaves + share))
    return bytes === undefined ? [] : decodeLeaves(bytes)
  }

  /** Forget a share's DAG: the record first, so a crash never leaves a record without its blocks. */
  async delete (share: string): Promise<void> {
    const record = await this.get(share)
    await this.ds.delete(new Key(PREFIX.share + share))
    await this.ds.delete(new Key(PREFIX.leaves + share))
    await this.ds.delete(new Key(PREFIX.roots + share))
    for (const cid of record?.blocks ?? []) await this.ds.delete(blockKey(share, cid))
  }
}

function blockKey (share: string, cid: string): Key {
  return new Key(`${PREFIX.block}${share}/${cid}`)
}

/** The leaf table as dag-cbor: one `[cid, file, offset, length, prefix, suffix]` per leaf. */
export function encodeLeaves (leaves: LeafEntry[]): Uint8Array {
  return dagCbor.encode(leaves.map(l => [l.cid.bytes, l.file, l.offset, l.length, l.prefix ?? new Uint8Array(0), l.suffix ?? new Uint8Array(0)]))
}

export function decodeLeaves (bytes: Uint8Array): LeafEntry[] {
  const raw = dagCbor.decode<unknown[]>(bytes)
  if (!Array.isArray(raw)) throw new ShoalError(ErrorCode.INTERNAL, 'corrupt leaf table')
  return raw.map(row => {
    const [cid, file, offset, length, prefix, suffix] = row as [Uint8Array, number, number, number, Uint8Array, Uint8Array]
    return {
      cid: CID.decode(cid),
      file,
      offset,
      length,
      ...(prefix.byteLength > 0 ? { prefix } : {}),
      ...(suffix.byteLength > 0 ? { suffix } : {})
    }
  })
}
