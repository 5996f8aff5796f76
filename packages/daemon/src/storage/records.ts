import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import type { ErrorCode } from '@shoal/protocol'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { getIfStored } from './datastore-read.js'
import { FileStamps } from './file-stamps.js'
import type { FileStamp } from './file-stamps.js'

/** A share: content we serve in place from `path`. */
export interface ShareRecord {
  cid: string
  name: string
  kind: 'file' | 'dir'
  /** Absolute path on disk of the file or directory root. */
  path: string
  size: number
  files: number
  chunks: number
  origin: 'shared' | 'fetched'
  sharedAt: string
  stale: boolean
  /** One stamp per manifest file, in manifest order. */
  stamps: FileStamps
}

/** A peer that may hold a root. */
export interface ProviderHint {
  peerId: string
  addrs: string[]
}

/**
 * What this node holds of a root it does not hold completely: an unfinished
 * (or failed) download, a selective one (`only`), or chunks fetched for
 * readers (`cat`, the gateway) with no output path (`out` absent, bytes in
 * `<repo>/partial/<cid>`).
 */
export interface DownloadRecord {
  cid: string
  name: string
  kind: 'file' | 'dir'
  /** Final path; absent for chunks fetched for readers only. */
  out?: string
  /** Where bytes are written until their file is complete (a selected file is then moved to its place under `out`). */
  partPath: string
  force: boolean
  /**
   * active: running, or interrupted (resumes at the next start); paused:
   * stopped by the user (stays so); failed: with `error`; partial: its
   * selection is complete (or it has none): it holds part of the share and
   * serves what it holds.
   */
  state: 'active' | 'paused' | 'failed' | 'partial'
  /** `--only` patterns selected so far (their union); absent: the whole share. */
  only?: string[]
  startedAt: string
  providers: ProviderHint[]
  error?: { code: ErrorCode, message: string }
}

const PREFIX = {
  share: '/shoal/share/',
  manifest: '/shoal/manifest/',
  download: '/shoal/download/',
  bitfield: '/shoal/bitfield/',
  stamps: '/shoal/stamps/'
} as const

/**
 * A share record as stored: the JSON without its stamps, which are a value
 * of their own (`/shoal/stamps/<cid>`, {@link FileStamps.toBytes}: 16 bytes a
 * file; base64 in the JSON, 200,000 files were 4.3 MB of text copied three
 * times on the way to the datastore). Records written before hold them as
 * `stampsPacked` (that base64) or as `stamps` objects, and are read as they are.
 */
type StoredShare = Omit<ShareRecord, 'stamps'> & { stampsStored?: true, stampsPacked?: string, stamps?: FileStamp[] }

function storedShare (record: ShareRecord): StoredShare {
  const { stamps: _stamps, ...rest } = record
  return { ...rest, stampsStored: true }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Shoal's own records in the repo's datastore (beside libp2p's). */
export class Records {
  private readonly log: Logger
  private readonly ds: Datastore

  constructor (ds: Datastore, logger: ComponentLogger) {
    this.log = logger.forComponent('shoal:records')
    this.ds = ds
  }

  /**
   * Store a share: its manifest first (a share record never points at a
   * missing manifest), then the record. `manifestBytes` undefined: the
   * manifest is stored already (a download's, stored when it started; a
   * large manifest is megabytes, not worth writing twice).
   */
  async putShare (record: ShareRecord, manifestBytes: Uint8Array | undefined): Promise<void> {
    if (manifestBytes !== undefined) await this.ds.put(new Key(PREFIX.manifest + record.cid), manifestBytes)
    await this.ds.put(new Key(PREFIX.stamps + record.cid), record.stamps.toBytes())
    await this.putJson(PREFIX.share + record.cid, storedShare(record))
  }

  /** Store a share record again (marked stale, say), its stamps with it (a record read from an older repo had them in its JSON). */
  async updateShare (record: ShareRecord): Promise<void> {
    await this.putShare(record, undefined)
  }

  async getShare (cid: string): Promise<ShareRecord | undefined> {
    const stored = await this.getJson<StoredShare>(PREFIX.share + cid)
    return stored === undefined ? undefined : await this.unpackShare(stored)
  }

  async deleteShare (cid: string): Promise<void> {
    await this.ds.delete(new Key(PREFIX.share + cid))
    await this.ds.delete(new Key(PREFIX.stamps + cid))
    if (await this.getDownload(cid) === undefined) await this.ds.delete(new Key(PREFIX.manifest + cid))
  }

  async listShares (): Promise<ShareRecord[]> {
    const out: ShareRecord[] = []
    for (const stored of await this.listJson<StoredShare>(PREFIX.share)) out.push(await this.unpackShare(stored))
    return out
  }

  async putManifest (cid: string, bytes: Uint8Array): Promise<void> {
    await this.ds.put(new Key(PREFIX.manifest + cid), bytes)
  }

  async deleteManifest (cid: string): Promise<void> {
    await this.ds.delete(new Key(PREFIX.manifest + cid))
  }

  /** True when a manifest of `cid` is stored (without reading it: it may be megabytes). */
  async hasManifest (cid: string): Promise<boolean> {
    return await this.ds.has(new Key(PREFIX.manifest + cid))
  }

  async getManifest (cid: string): Promise<Uint8Array | undefined> {
    return await getIfStored(this.ds, new Key(PREFIX.manifest + cid))
  }

  async putDownload (record: DownloadRecord): Promise<void> {
    await this.putJson(PREFIX.download + record.cid, record)
  }

  async getDownload (cid: string): Promise<DownloadRecord | undefined> {
    return await this.getJson<DownloadRecord>(PREFIX.download + cid)
  }

  async deleteDownload (cid: string): Promise<void> {
    await this.ds.delete(new Key(PREFIX.download + cid))
    await this.ds.delete(new Key(PREFIX.bitfield + cid))
  }

  async listDownloads (): Promise<DownloadRecord[]> {
    return await this.listJson<DownloadRecord>(PREFIX.download)
  }

  async putBitfield (cid: string, bytes: Uint8Array): Promise<void> {
    await this.ds.put(new Key(PREFIX.bitfield + cid), bytes)
  }

  async getBitfield (cid: string): Promise<Uint8Array | undefined> {
    return await getIfStored(this.ds, new Key(PREFIX.bitfield + cid))
  }

  private async unpackShare (stored: StoredShare): Promise<ShareRecord> {
    const { stampsStored, stampsPacked, stamps, ...rest } = stored
    if (stampsStored === true) {
      const bytes = await getIfStored(this.ds, new Key(PREFIX.stamps + stored.cid))
      if (bytes !== undefined) return { ...rest, stamps: FileStamps.fromBytes(bytes) }
      // (every chunk is still hashed before it is served: only the cheap size/mtime check is lost)
      this.log.error('share %s has no stamps in the repo; its files are not checked for changes by size and mtime', stored.cid)
      return { ...rest, stamps: FileStamps.sized(0) }
    }
    if (stampsPacked !== undefined) return { ...rest, stamps: FileStamps.fromBytes(Buffer.from(stampsPacked, 'base64')) }
    return { ...rest, stamps: FileStamps.of(stamps ?? []) }
  }

  private async putJson (key: string, value: unknown): Promise<void> {
    await this.ds.put(new Key(key), encoder.encode(JSON.stringify(value)))
  }

  private async getJson<T> (key: string): Promise<T | undefined> {
    const bytes = await getIfStored(this.ds, new Key(key))
    return bytes === undefined ? undefined : this.parseJson<T>(key, bytes)
  }

  private async listJson<T> (prefix: string): Promise<T[]> {
    const out: T[] = []
    for await (const { key, value } of this.ds.query({ prefix })) {
      const parsed = this.parseJson<T>(key.toString(), value)
      if (parsed !== undefined) out.push(parsed)
    }
    return out
  }

  private parseJson<T> (key: string, bytes: Uint8Array): T | undefined {
    try {
      return JSON.parse(decoder.decode(bytes)) as T
    } catch (err) {
      this.log.error('ignoring corrupt record %s: %e', key, err)
      return undefined
    }
  }
}
