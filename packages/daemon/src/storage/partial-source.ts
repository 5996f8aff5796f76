import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Bitfield, ChunkLayout } from '@shoal/protocol'
import { chunkMatchesAt } from './chunk-hash.js'
import type { ChunkSource } from './chunk-source.js'
import type { PartFiles } from './part-files.js'

export interface PartialSourceInit {
  cid: string
  name: string
  layout: ChunkLayout
  manifestBytes: Uint8Array
  have: Bitfield
  part: PartFiles
  /** The complete share, once the download has been moved into place. */
  finished: () => ChunkSource | undefined
}

/**
 * Serves the verified chunks of a download in progress, so leechers feed
 * each other. Chunks are re-hashed before they leave, like every source.
 */
export class PartialSource implements ChunkSource {
  readonly cid: string
  readonly name: string
  readonly layout: ChunkLayout
  readonly manifestBytes: Uint8Array
  private readonly have: Bitfield
  private readonly part: PartFiles
  private readonly finished: () => ChunkSource | undefined
  private readonly listeners = new Set<(index: number | 'all') => void>()
  private complete = false

  constructor (init: PartialSourceInit) {
    this.cid = init.cid
    this.name = init.name
    this.layout = init.layout
    this.manifestBytes = init.manifestBytes
    this.have = init.have
    this.part = init.part
    this.finished = init.finished
  }

  has (index: number): boolean {
    return this.complete || this.have.has(index)
  }

  hasAll (): boolean {
    return this.complete || this.have.complete
  }

  holdings (): 'all' | Bitfield {
    return this.hasAll() ? 'all' : this.have
  }

  subscribe (listener: (index: number | 'all') => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** The download verified and wrote chunk `index`. */
  gained (index: number): void {
    for (const l of this.listeners) l(index)
  }

  /** The download is complete and in place: serve from the final share now. */
  markComplete (): void {
    this.complete = true
    for (const l of this.listeners) l('all')
    this.listeners.clear()
  }

  async readChunk (index: number): Promise<Uint8Array> {
    return await this.readChunks(index, 1)
  }

  async readChunks (first: number, count: number): Promise<Uint8Array> {
    if (this.complete) {
      const final = this.finished()
      if (final === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `${this.cid} is no longer served`)
      return await final.readChunks(first, count)
    }
    const locs = this.layout.locateRange(first, count)
    let total = 0
    for (const loc of locs) {
      if (!this.have.has(loc.index)) throw new ShoalError(ErrorCode.NOT_FOUND, `chunk ${loc.index} of ${this.cid} is not here yet`)
      total += loc.length
    }
    const buffer = Buffer.allocUnsafeSlow(total) // filled by the reads: no zeroing
    let at = 0
    for (const loc of locs) {
      const target = buffer.subarray(at, at + loc.length)
      await this.part.readInto(loc, target)
      if (!chunkMatchesAt(this.layout, loc, target)) {
        throw new ShoalError(ErrorCode.HASH_MISMATCH, `chunk ${loc.index} of ${this.cid} changed on disk while downloading`)
      }
      at += loc.length
    }
    return buffer
  }

  async close (): Promise<void> {
    this.listeners.clear()
  }
}
