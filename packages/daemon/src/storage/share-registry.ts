import { statSync } from 'node:fs'
import nodePath from 'node:path'
import { ChunkLayout, ErrorCode, ShoalError, decodeManifest, parseContentId, sealManifest, totalSizeOf } from '@shoal/protocol'
import { MAX_SKIPPED_LISTED } from '@shoal/protocol'
import type { Manifest, ShareInfo, SkippedEntries, SkippedEntry } from '@shoal/protocol'
import type { ChunkSource } from './chunk-source.js'
import { FileSource } from './file-source.js'
import { buildManifest } from './manifest-builder.js'
import { forEachSliced } from './small-io.js'
import type { BuildOptions } from './manifest-builder.js'
import { FileStamps } from './file-stamps.js'
import type { Records, ShareRecord } from './records.js'
import type { ComponentLogger, Logger } from '@libp2p/interface'

export interface AddShareResult {
  record: ShareRecord
  /** What a directory share left out. */
  skipped: SkippedEntries
}

/** A share added (shared or fetched) or removed. */
export interface ShareChange {
  type: 'added' | 'removed'
  cid: string
}

/** The shares this node serves: records in the datastore, sources in memory. */
export class ShareRegistry {
  private readonly log: Logger
  private readonly records: Records
  private readonly sources = new Map<string, ChunkSource>()
  private readonly shares = new Map<string, ShareRecord>()
  private readonly listeners = new Set<(event: ShareChange) => void>()

  constructor (records: Records, private readonly logger: ComponentLogger) {
    this.log = logger.forComponent('shoal:shares')
    this.records = records
  }

  /** Be told of every share added (shared or fetched) or removed; the IPFS side keeps its DAGs in step this way. */
  onChange (listener: (event: ShareChange) => void): void {
    this.listeners.add(listener)
  }

  /** Load every share recorded in the repo. */
  async load (): Promise<void> {
    for (const record of await this.records.listShares()) {
      const bytes = await this.records.getManifest(record.cid)
      if (bytes === undefined) {
        this.log.error('share %s has no manifest; dropping it', record.cid)
        continue
      }
      try {
        this.activate(record, bytes)
      } catch (err) {
        this.log.error('cannot load share %s: %e', record.cid, err)
      }
    }
  }

  /** Source for a root, or undefined when not shared (or stale). */
  lookup (cid: string): ChunkSource | undefined {
    const source = this.sources.get(cid)
    return source?.hasAll() === true ? source : undefined
  }

  get (cid: string): ShareRecord | undefined {
    return this.shares.get(cid)
  }

  get size (): number {
    return this.shares.size
  }

  list (): ShareInfo[] {
    return [...this.shares.values()].map(toShareInfo)
  }

  /** Hash a path and start serving it in place. */
  async addPath (inputPath: string, options: BuildOptions = {}): Promise<AddShareResult> {
    const built = await buildManifest(inputPath, { ...options, log: this.log })
    const { cid, bytes } = await sealManifest(built.manifest)
    const record: ShareRecord = {
      cid: cid.toString(),
      name: built.name,
      kind: built.manifest.kind,
      path: built.root,
      size: totalSizeOf(built.manifest),
      files: built.manifest.files.length,
      chunks: new ChunkLayout(built.manifest).chunkCount,
      origin: 'shared',
      sharedAt: new Date().toISOString(),
      stale: false,
      stamps: built.stamps
    }
    await this.put(record, bytes, built.manifest)
    return { record, skipped: summarize(built.skipped) }
  }

  /** Serve content we just downloaded and verified (`manifest`: `manifestBytes` decoded, when the caller has it). */
  async addFetched (cid: string, name: string, path: string, manifestBytes: Uint8Array, manifest = decodeManifest(manifestBytes)): Promise<ShareRecord> {
    const stamps = FileStamps.sized(manifest.files.length)
    // one stat per file, synchronously in slices (small-io.ts): a directory may hold many small files
    let i = 0
    await forEachSliced(manifest.files, file => {
      const st = statSync(manifest.kind === 'file' ? path : nodePath.join(path, file.path))
      stamps.set(i++, st.size, st.mtimeMs)
    })
    const record: ShareRecord = {
      cid,
      name,
      kind: manifest.kind,
      path,
      size: totalSizeOf(manifest),
      files: manifest.files.length,
      chunks: new ChunkLayout(manifest).chunkCount,
      origin: 'fetched',
      sharedAt: new Date().toISOString(),
      stale: false,
      stamps
    }
    // (a download stored its manifest when it started, and keeps it until its record goes)
    await this.put(record, manifestBytes, manifest, await this.records.hasManifest(cid))
    return record
  }

  async remove (cidText: string): Promise<void> {
    const cid = parseContentId(cidText).toString()
    if (!this.shares.has(cid)) throw new ShoalError(ErrorCode.NOT_FOUND, `${cid} is not shared by this node`)
    const source = this.sources.get(cid)
    this.sources.delete(cid)
    this.shares.delete(cid)
    await source?.close()
    await this.records.deleteShare(cid)
    this.emit({ type: 'removed', cid })
  }

  async close (): Promise<void> {
    await Promise.allSettled([...this.sources.values()].map(async s => { await s.close() }))
    this.sources.clear()
  }

  /** Record a share and serve it; `stored`: its manifest is in the records already. */
  private async put (record: ShareRecord, bytes: Uint8Array, manifest: Manifest, stored = false): Promise<void> {
    await this.records.putShare(record, stored ? undefined : bytes)
    const old = this.sources.get(record.cid)
    await old?.close()
    this.activate(record, bytes, manifest)
    this.emit({ type: 'added', cid: record.cid })
  }

  private emit (event: ShareChange): void {
    for (const l of this.listeners) {
      try {
        l(event)
      } catch (err) {
        this.log.error('share listener failed: %e', err)
      }
    }
  }

  /** Serve a share: `manifest` is `bytes` decoded (decoded here when not given). */
  private activate (record: ShareRecord, bytes: Uint8Array, manifest = decodeManifest(bytes)): void {
    const layout = new ChunkLayout(manifest)
    this.shares.set(record.cid, record)
    if (record.stale) return
    this.sources.set(record.cid, new FileSource({
      log: this.logger.forComponent('shoal:file-source'),
      cid: record.cid,
      name: record.name,
      layout,
      manifestBytes: bytes,
      root: record.path,
      stamps: record.stamps,
      onStale: (reason) => {
        record.stale = true
        this.sources.delete(record.cid)
        this.log('share %s marked stale: %s', record.cid, reason)
        this.records.updateShare(record).catch(err => { this.log.error('cannot record stale share %s: %e', record.cid, err) })
      }
    }))
  }
}

function summarize (skipped: SkippedEntry[]): SkippedEntries {
  const byReason = { symlink: 0, special: 0, name: 0 }
  for (const e of skipped) byReason[e.reason]++
  return { count: skipped.length, byReason, first: skipped.slice(0, MAX_SKIPPED_LISTED) }
}

/** A share record as listed (`ls`): complete, so `held` is its size. */
export function toShareInfo (r: ShareRecord): ShareInfo {
  return {
    cid: r.cid,
    name: r.name,
    path: r.path,
    kind: r.kind,
    size: r.size,
    files: r.files,
    chunks: r.chunks,
    stale: r.stale,
    origin: r.origin,
    sharedAt: r.sharedAt,
    partial: false,
    held: r.size
  }
}
