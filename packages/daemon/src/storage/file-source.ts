import fs from 'node:fs/promises'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import { MAX_OPEN_FILES_PER_SOURCE, STAT_CHECK_INTERVAL_MS } from '../constants.js'
import type { ChunkSource } from './chunk-source.js'
import { FileHandleCache, chunkFileIn, readFully } from './file-handles.js'
import { chunkMatches } from './chunk-hash.js'
import type { FileStamp } from './records.js'

export interface FileSourceInit {
  log: Logger
  cid: string
  name: string
  layout: ChunkLayout
  manifestBytes: Uint8Array
  /** Absolute path of the file (kind 'file') or directory root (kind 'dir'). */
  root: string
  /** Stamps taken when the share was made; a different size or mtime means changed. */
  stamps: FileStamp[]
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
  private readonly stamps: FileStamp[]
  private readonly onStale: (reason: string) => void
  private readonly handles = new FileHandleCache(MAX_OPEN_FILES_PER_SOURCE, async p => await fs.open(p, 'r'))
  /** per file: when its size and mtime were last checked */
  private readonly checkedAt = new Map<number, number>()
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
    if (this.stale) throw new ShoalError(ErrorCode.NOT_FOUND, `share ${this.cid} is stale: its source changed on disk`)
    const { loc, filePath } = chunkFileIn(this.layout, this.root, index)
    const buffer = Buffer.allocUnsafeSlow(loc.length) // filled by the read: no zeroing
    try {
      await this.handles.use(loc.fileIndex, filePath, async handle => {
        // size/mtime catch most changes cheaply (checked at most every
        // STAT_CHECK_INTERVAL_MS); the hash below is what guarantees the bytes
        const stamp = this.stamps[loc.fileIndex]
        const now = Date.now()
        if (stamp !== undefined && now - (this.checkedAt.get(loc.fileIndex) ?? 0) > STAT_CHECK_INTERVAL_MS) {
          const st = await handle.stat()
          if (st.size !== stamp.size || st.mtimeMs !== stamp.mtimeMs) {
            this.markStale(`${filePath} changed on disk (size or modification time)`)
            throw new ShoalError(ErrorCode.NOT_FOUND, `share ${this.cid} is stale: ${filePath} changed on disk`)
          }
          this.checkedAt.set(loc.fileIndex, now)
        }
        await readFully(handle, buffer, loc.length, loc.offset, filePath)
      })
    } catch (err) {
      if (err instanceof ShoalError) throw err
      this.markStale(`${filePath} cannot be opened: ${(err as Error).message}`)
      throw new ShoalError(ErrorCode.NOT_FOUND, `share ${this.cid} is stale: ${filePath} cannot be read`, { cause: err })
    }
    if (!(chunkMatches(this.layout, index, buffer))) {
      this.markStale(`chunk ${index} of ${filePath} no longer matches its hash`)
      throw new ShoalError(ErrorCode.HASH_MISMATCH, `share ${this.cid} is stale: chunk ${index} changed on disk`)
    }
    return buffer
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
