import type { Bitfield } from '@shoal/protocol'
import { FLUSH_EVERY_BYTES } from '../../constants.js'
import type { Records } from '../../storage/records.js'

/**
 * Makes a download's progress durable: its bitfield is stored after every
 * FLUSH_EVERY_BYTES of newly written chunks, and whenever the download asks
 * (its 1 s tick, a failure, a pause). A bit is set only after its chunk's
 * write completed, so the stored bitfield never claims a chunk that is not
 * in the file (the page cache survives a killed daemon). Data is not
 * fsynced on this hot path: after an OS crash, resume re-verifies every
 * claimed chunk.
 */
export class ProgressRecorder {
  private flushing?: Promise<void>
  /** Bytes of chunks written since the last flush. */
  private unflushed = 0

  constructor (private readonly records: Records, private readonly cid: string, private readonly have: Bitfield) {}

  /** A chunk of `bytes` was written and its bit set: flush when enough has piled up (errors go to `onError`). */
  written (bytes: number, onError: (err: unknown) => void): void {
    this.unflushed += bytes
    if (this.unflushed >= FLUSH_EVERY_BYTES && !this.have.complete) void this.flush().catch(onError)
  }

  /** Store the bitfield now (one write at a time: a flush asked for meanwhile waits for the running one). */
  async flush (): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    this.unflushed = 0
    this.flushing = this.records.putBitfield(this.cid, Uint8Array.from(this.have.bytes))
    try {
      await this.flushing
    } finally {
      this.flushing = undefined
    }
  }
}
