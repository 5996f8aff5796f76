import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'

/**
 * Bounds what one stream has waiting to go out: its write buffer plus the
 * blocks being read for it. A block is read only when there is room, so it
 * is sent within a few milliseconds of being read instead of waiting behind
 * megabytes of others for the peer's window (such long-lived buffers are
 * what made the seeder's garbage collector its largest cost).
 *
 * `reserve` before reading a block, `release` once it is handed to the
 * stream. A queue that makes no progress for `timeoutMs` (the peer reads
 * nothing) fails the reservation with PROTOCOL_ERROR.
 */
export class SendQueueGate {
  private reserved = 0
  private readonly waiters = new Set<() => void>()

  constructor (
    private readonly stream: Stream,
    private readonly limitBytes: number,
    private readonly timeoutMs: number
  ) {
    const wake = (): void => { this.wake() }
    // 'drain': the window opened (the queue is processed in a microtask queued
    // before our waiters run); 'idle': the write buffer emptied
    stream.addEventListener('drain', wake)
    stream.addEventListener('idle', wake)
    stream.addEventListener('close', wake)
  }

  /** Bytes queued on the stream plus those reserved for blocks being read. */
  get queued (): number {
    return this.stream.writeBufferLength + this.reserved
  }

  /** Wait until `bytes` more fit (always true for the first block), then hold room for them. */
  async reserve (bytes: number): Promise<void> {
    let lastLength = this.stream.writeBufferLength
    let lastProgressAt = Date.now()
    while (!this.fits(bytes)) {
      if (this.stream.status !== 'open') throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed')
      const length = this.stream.writeBufferLength
      if (length < lastLength) lastProgressAt = Date.now()
      lastLength = length
      const left = this.timeoutMs - (Date.now() - lastProgressAt)
      if (left <= 0) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer read nothing for ${this.timeoutMs / 1000} s`)
      await this.waitForChange(left)
    }
    this.reserved += bytes
  }

  /** The block is on the stream (or will not be sent): its reservation ends. */
  release (bytes: number): void {
    this.reserved = Math.max(0, this.reserved - bytes)
    this.wake()
  }

  private fits (bytes: number): boolean {
    const queued = this.queued
    return queued === 0 || queued + bytes <= this.limitBytes
  }

  private async waitForChange (timeoutMs: number): Promise<void> {
    await new Promise<void>(resolve => {
      const done = (): void => { clearTimeout(timer); this.waiters.delete(done); resolve() }
      const timer = setTimeout(done, timeoutMs)
      this.waiters.add(done)
    })
  }

  private wake (): void {
    for (const waiter of [...this.waiters]) waiter()
  }
}
