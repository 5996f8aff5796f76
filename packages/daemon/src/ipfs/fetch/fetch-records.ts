/**
 * What a UnixFS fetch keeps in the repo so a killed daemon resumes it: its
 * record (where it goes, its state), the dag-pb nodes fetched so far (the
 * DAG need not be fetched again), which file bytes were written (one bit
 * per link of each parent node, set only after the write completed) and the
 * dag-pb framing of leaves that carry file bytes inside a dag-pb node.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import type { ErrorCode } from '@shoal/protocol'

/** A UnixFS fetch that has not finished (or failed). */
export interface IpfsDownloadRecord {
  /** The UnixFS CID fetched, as given (CIDv0 stays v0). */
  cid: string
  name: string
  out: string
  partPath: string
  force: boolean
  /** As Shoal downloads: active (running or interrupted: resumes at start), paused, failed. */
  state: 'active' | 'paused' | 'failed'
  startedAt: string
  /** Multiaddrs of providers given with the fetch (`--peer`). */
  peers: string[]
  /** Bytes known so far and bytes written (for ls while not running). */
  size: number
  received: number
  error?: { code: ErrorCode, message: string }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const RECORD = '/shoal/ipfs/download/'
const DL = '/shoal/ipfs/dl/'

/** The repo records of UnixFS fetches. */
export class IpfsFetchRecords {
  constructor (private readonly ds: Datastore) {}

  async put (record: IpfsDownloadRecord): Promise<void> {
    await this.ds.put(new Key(RECORD + record.cid), encoder.encode(JSON.stringify(record)))
  }

  async get (cid: string): Promise<IpfsDownloadRecord | undefined> {
    const key = new Key(RECORD + cid)
    if (!(await this.ds.has(key))) return undefined
    try {
      return JSON.parse(decoder.decode(await this.ds.get(key))) as IpfsDownloadRecord
    } catch {
      return undefined
    }
  }

  async list (): Promise<IpfsDownloadRecord[]> {
    const out: IpfsDownloadRecord[] = []
    for await (const { value } of this.ds.query({ prefix: RECORD })) {
      try { out.push(JSON.parse(decoder.decode(value)) as IpfsDownloadRecord) } catch { /* a corrupt record is skipped */ }
    }
    return out
  }

  /** Forget a fetch: its record and everything kept for resuming it. */
  async delete (cid: string): Promise<void> {
    await this.ds.delete(new Key(RECORD + cid))
    for await (const key of this.ds.queryKeys({ prefix: DL + cid + '/' })) await this.ds.delete(key)
  }

  /** The store of one fetch's progress. */
  progress (cid: string): FetchProgressStore {
    return new FetchProgressStore(this.ds, DL + cid + '/')
  }
}

/** One fetch's dag-pb nodes, written-bit masks and leaf framing. */
export class FetchProgressStore {
  constructor (private readonly ds: Datastore, private readonly prefix: string) {}

  async putNode (cid: string, bytes: Uint8Array): Promise<void> {
    await this.ds.put(new Key(`${this.prefix}node/${cid}`), bytes)
  }

  async getNode (cid: string): Promise<Uint8Array | undefined> {
    const key = new Key(`${this.prefix}node/${cid}`)
    return (await this.ds.has(key)) ? await this.ds.get(key) : undefined
  }

  async putMask (parent: string, mask: Uint8Array): Promise<void> {
    await this.ds.put(new Key(`${this.prefix}mask/${parent}`), mask)
  }

  async getMask (parent: string): Promise<Uint8Array | undefined> {
    const key = new Key(`${this.prefix}mask/${parent}`)
    return (await this.ds.has(key)) ? await this.ds.get(key) : undefined
  }

  async putFraming (cid: string, prefix: Uint8Array, suffix: Uint8Array): Promise<void> {
    await this.ds.put(new Key(`${this.prefix}framing/${cid}`), dagCbor.encode([prefix, suffix]))
  }

  async getFraming (cid: string): Promise<{ prefix: Uint8Array, suffix: Uint8Array } | undefined> {
    const key = new Key(`${this.prefix}framing/${cid}`)
    if (!(await this.ds.has(key))) return undefined
    const [prefix, suffix] = dagCbor.decode<[Uint8Array, Uint8Array]>(await this.ds.get(key))
    return { prefix, suffix }
  }
}
