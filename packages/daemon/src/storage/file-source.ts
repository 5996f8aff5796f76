import fs from 'node:fs/promises'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, ChunkLocation } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import { MAX_OPEN_FILES_PER_SOURCE, SMALL_IO_BYTES, STAT_CHECK_INTERVAL_MS } from '../constants.js'
import type { ChunkSource } from './chunk-source.js'
import { FileHandleCache, filePathIn, readFully } from './file-handles.js'
import { chunkMatchesAt } from './chunk-hash.js'
import { readSmallSync } from './small-io.js'
import type { FileStamp, FileStamps } from './file-stamps.js'

export interface FileSourceInit {
  log: Logger
  cid: string
  name: string
  layout: ChunkLayout
  manifestBytes: Uint8Array
  /** Absolute path of the file (kind 'file') or directory root (kind 'dir'). */
  root: string
  /** Stamps taken when the share was made; a different size or mtime means changed. */
  stamps: FileStamps
  /** Called once when the source no longer matches its manifest. */
  onStale: (reason: string) => void
}

/**
 * Serves a share in place from the user's files. Every chunk is hashed
 * before it leaves: a source that changed on disk never serves wrong bytes;
 * it turns stale and stops serving.
 */
export class FileSource implements ChunkSource {
  private readonly log: Logger
  readonly cid: string
  readonly name: string
  readonly layout: ChunkLayout
  readonly manifestBytes: Uint8Array
  private readonly root: string
  private readonly stamps: FileStamps
  private readonly onStale: (reason: string) => void
  private readonly handles = new FileHandleCache(MAX_OPEN_FILES_PER_SOURCE, async p => await fs.open(p, 'r'))
  /** per file: when its size and mtime were last checked (0: never) */
  private readonly checkedAt: Float64Array
  private stale = false

  constructor (init: FileSourceInit) {
    this.log = init.log
    this.cid = init.cid
    this.name = init.name
    this.layout = init.layout
    this.manifestBytes = init.manifestBytes
    this.root = init.root
    this.stamps = init.stamps
    this.onStale = init.onStale
    this.checkedAt = new Float64Array(init.layout.manifest.files.length)
  }

  has (index: number): boolean {
    return !this.stale && index >= 0 && index < this.layout.chunkCount
  }

  hasAll (): boolean {
    return !this.stale
  }

  holdings (): 'all' {
    return 'all'
  }

  subscribe (): () => void {
    return () => {} // a complete share never gains chunks
  }

  async readChunk (index: number): Promise<Uint8Array> {
    return await this.readChunks(index, 1)
  }

  async readChunks (first: number, count: number): Promise<Uint8Array> {
    if (this.stale) throw new ShoalError(ErrorCode.NOT_FOUND, `share ${this.cid} is stale: its source changed on disk`)
    const locs = this.layout.locateRange(first, count)
    let total = 0
    for (const loc of locs) total += loc.length
    const buffer = Buffer.allocUnsafeSlow(total) // filled by the reads: no zeroing
    let at = 0
    for (const loc of locs) {
      const target = buffer.subarray(at, at + loc.length)
      await this.readAt(loc, target)
      if (!chunkMatchesAt(this.layout, loc, target)) {
        this.markStale(`chunk ${loc.index} of ${this.pathOf(loc)} no longer matches its hash`)
        throw new ShoalError(ErrorCode.HASH_MISMATCH, `share ${this.cid} is stale: chunk ${loc.index} changed on disk`)
      }
      at += loc.length
    }
    return buffer
  }

  /** Read one chunk's bytes into `target`: small ones synchronously (small-io.ts), others through the file handle cache. */
  private async readAt (loc: ChunkLocation, target: Uint8Array): Promise<void> {
    const filePath = this.pathOf(loc)
    // size/mtime catch most changes cheaply (checked at most every
    // STAT_CHECK_INTERVAL_MS per file); the hash is what guarantees the bytes
    const now = Date.now()
    const due = loc.fileIndex < this.stamps.length && now - (this.checkedAt[loc.fileIndex] ?? 0) > STAT_CHECK_INTERVAL_MS
    const check = (st: { size: number, mtimeMs: number }): void => {
      const stamp = this.stamps.at(loc.fileIndex) as FileStamp
      if (st.size !== stamp.size || st.mtimeMs !== stamp.mtimeMs) {
        this.markStale(`${filePath} changed on disk (size or modification time)`)
        throw new ShoalError(ErrorCode.NOT_FOUND, `share ${this.cid} is stale: ${filePath} changed on disk`)
      }
      this.checkedAt[loc.fileIndex] = now
    }
    try {
      if (loc.length <= SMALL_IO_BYTES) {
        readSmallSync(filePath, target, loc.length, loc.offset, due ? check : undefined)
        return
      }
      await this.handles.use(loc.fileIndex, filePath, async handle => {
        if (due) check(await handle.stat())
        await readFully(handle, target, loc.length, loc.offset, filePath)
      })
    } catch (err) {
      if (err instanceof ShoalError) throw err
      this.markStale(`${filePath} cannot be opened: ${(err as Error).message}`)
      throw new ShoalError(ErrorCode.NOT_FOUND, `share ${this.cid} is stale: ${filePath} cannot be read`, { cause: err })
    }
  }

  private pathOf (loc: ChunkLocation): string {
    const file = this.layout.manifest.files[loc.fileIndex]
    if (file === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'layout and manifest disagree')
    return filePathIn(this.layout, this.root, file.path)
  }

  async close (): Promise<void> {
    await this.handles.close()
  }

  private markStale (reason: string): void {
    if (this.stale) return
    this.stale = true
    this.log('share %s is stale: %s', this.cid, reason)
    this.onStale(reason)
  }
}
