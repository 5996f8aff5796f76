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
 * stream, `close` when the stream is done. A watchdog calls `onStall` when
 * bytes sit in the write buffer and none leave it for `timeoutMs` (the peer
 * reads nothing); from then on `reserve` fails with that PROTOCOL_ERROR.
 */
export class SendQueueGate {
  private reserved = 0
  private readonly waiters = new Set<() => void>()
  private lastLength = 0
  private lastProgressAt = Date.now()
  private readonly watchdog: NodeJS.Timeout
  private stalled?: ShoalError

  constructor (
    private readonly stream: Stream,
    private readonly limitBytes: number,
    private readonly timeoutMs: number,
    private readonly onStall: (err: ShoalError) => void = () => {}
  ) {
    // 'drain': the peer's window opened, so it read something (the queue is
    // processed in a microtask queued before our waiters run); 'idle': the
    // write buffer emptied. Both are progress.
    const progressed = (): void => { this.lastProgressAt = Date.now(); this.wake() }
    stream.addEventListener('drain', progressed)
    stream.addEventListener('idle', progressed)
    stream.addEventListener('close', () => { this.close(); this.wake() })
    this.watchdog = setInterval(() => { this.check() }, Math.max(10, Math.min(1000, timeoutMs / 4)))
    this.watchdog.unref()
  }

  /** Bytes queued on the stream plus those reserved for blocks being read. */
  get queued (): number {
    return this.stream.writeBufferLength + this.reserved
  }

  /** Wait until `bytes` more fit (always true for the first block), then hold room for them. */
  async reserve (bytes: number): Promise<void> {
    while (!this.fits(bytes)) {
      if (this.stalled !== undefined) throw this.stalled
      if (this.stream.status !== 'open') throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed')
      // woken by the stream's events, a release, or the watchdog's tick
      await new Promise<void>(resolve => { this.waiters.add(resolve) })
    }
    this.reserved += bytes
  }

  /** The block is on the stream (or will not be sent): its reservation ends. */
  release (bytes: number): void {
    this.reserved = Math.max(0, this.reserved - bytes)
    this.wake()
  }

  /** Stop the watchdog (the stream is done). */
  close (): void {
    clearInterval(this.watchdog)
  }

  private fits (bytes: number): boolean {
    const queued = this.queued
    return queued === 0 || queued + bytes <= this.limitBytes
  }

  /** Besides those events, an empty or shrinking write buffer is progress; bytes that stay put for timeoutMs are a stall. */
  private check (): void {
    const length = this.stream.writeBufferLength
    const now = Date.now()
    if (length === 0 || length < this.lastLength) this.lastProgressAt = now
    this.lastLength = length
    if (this.stalled === undefined && length > 0 && now - this.lastProgressAt >= this.timeoutMs) {
      this.stalled = new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer read nothing for ${this.timeoutMs / 1000} s`)
      this.close()
      this.onStall(this.stalled)
    }
    this.wake()
  }

  private wake (): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const resolve of waiters) resolve()
  }
}
