import {
  DEFAULT_REQUEST_WINDOW, MAX_REQUEST_WINDOW, MIN_REQUEST_WINDOW, RATE_MIN_SPAN_MS, RATE_SPAN_MS, WINDOW_SECONDS
} from '../../constants.js'

/**
 * What one peer delivers, and the request window that follows from it. The
 * rate is bytes received over the last RATE_SPAN_MS (or since the first
 * request, if sooner), not the gap between two blocks: blocks arrive in
 * bursts, and one burst must not make a slow peer look fast and take every
 * request of the download.
 */
export class PeerRate {
  /** Bytes per second (0 until the first block). */
  bytesPerSec = 0
  /** Blocks received over the last RATE_SPAN_MS, oldest first. */
  private readonly samples: Array<{ at: number, bytes: number }> = []
  private sampledBytes = 0
  private firstRequestAt = 0

  /** A request went out (the first one starts the clock). */
  requested (now: number): void {
    if (this.firstRequestAt === 0) this.firstRequestAt = now
  }

  /** `bytes` arrived. */
  received (bytes: number, now = Date.now()): void {
    this.samples.push({ at: now, bytes })
    this.sampledBytes += bytes
    while ((this.samples[0]?.at ?? now) < now - RATE_SPAN_MS) this.sampledBytes -= this.samples.shift()?.bytes ?? 0
    const since = Math.max(this.firstRequestAt, now - RATE_SPAN_MS)
    this.bytesPerSec = this.sampledBytes / (Math.max(RATE_MIN_SPAN_MS, now - since) / 1000)
  }

  /**
   * Bytes of requests to keep in flight: enough for WINDOW_SECONDS at this
   * rate, between MIN_REQUEST_WINDOW and MAX_REQUEST_WINDOW full chunks'
   * worth (DEFAULT_REQUEST_WINDOW before the first block). Short chunks count
   * as their length, so small files keep as many bytes in flight as a big
   * one (their count is bounded apart: MAX_REQUEST_CHUNKS).
   */
  windowBytes (chunkSize: number): number {
    if (this.bytesPerSec === 0) return DEFAULT_REQUEST_WINDOW * chunkSize
    return Math.max(MIN_REQUEST_WINDOW * chunkSize, Math.min(MAX_REQUEST_WINDOW * chunkSize, Math.ceil(this.bytesPerSec * WINDOW_SECONDS)))
  }
}
