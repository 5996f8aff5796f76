import { WRITE_BACKLOG_BYTES, WRITE_BACKLOG_CHUNKS } from '../../constants.js'

/**
 * Verified chunks waiting for their writes to complete. While it is full
 * (WRITE_BACKLOG_BYTES, or WRITE_BACKLOG_CHUNKS for tiny chunks) a download
 * asks for nothing more: a disk slower than the network must not fill
 * memory with received chunks.
 */
export class WriteBacklog {
  private bytes = 0
  private chunks = 0

  /** A chunk of `bytes` went to be written. */
  add (bytes: number): void {
    this.bytes += bytes
    this.chunks++
  }

  /** Its write completed (or failed). */
  done (bytes: number): void {
    this.bytes -= bytes
    this.chunks--
  }

  get full (): boolean {
    return this.bytes >= WRITE_BACKLOG_BYTES || this.chunks >= WRITE_BACKLOG_CHUNKS
  }
}
