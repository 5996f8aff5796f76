import type { PeerId } from '@libp2p/interface'
import { ErrorCode, ShoalError, parseRate } from '@shoal/protocol'
import type { RepoConfig } from '@shoal/protocol'
import { RATE_LIMIT_BURST_SECONDS, RATE_LIMIT_MIN_BURST } from '../constants.js'

/**
 * A token bucket that may go into debt: `take(n)` always takes `n` at once
 * and then waits until the bucket is back above zero, so a 1 MiB chunk passes
 * a 100 KB/s bucket (after ~10 s) instead of waiting for a burst it can never
 * have. Waiters are served in the order they took, at `rate` bytes/s overall.
 */
export class TokenBucket {
  readonly rate: number
  private readonly burst: number
  private tokens: number
  private last = Date.now()

  /** `rate` in bytes per second (> 0). */
  constructor (rate: number) {
    this.rate = rate
    this.burst = Math.max(RATE_LIMIT_MIN_BURST, rate * RATE_LIMIT_BURST_SECONDS)
    this.tokens = this.burst
  }

  /** Milliseconds the caller must wait after taking `bytes` now. */
  reserve (bytes: number): number {
    const now = Date.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) / 1000 * this.rate)
    this.last = now
    this.tokens -= bytes
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens / this.rate * 1000)
  }

  /** True when the bucket is out of debt (it would let a byte through now). */
  get settled (): boolean {
    return this.reserve(0) === 0
  }

  /** Give back what a reservation took (its bytes were never sent). */
  refund (bytes: number): void {
    this.tokens = Math.min(this.burst, this.tokens + bytes)
  }
}

/** Rate caps in bytes per second; 0 or absent = unlimited. */
export interface RateLimits {
  upload?: number
  download?: number
  uploadPerPeer?: number
  downloadPerPeer?: number
}

/** What waiting for a direction's buckets gave: undo it if the bytes never moved. */
export interface Reservation {
  /** Resolves when the bytes may move. */
  ready: Promise<void>
  /** The bytes did not move after all: return their tokens. */
  cancel(): void
}

const NOW: Reservation = { ready: Promise.resolve(), cancel: () => {} }
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * The daemon's bandwidth caps on chunk traffic: one bucket per direction for
 * all peers, and one per peer and direction. Peer buckets are dropped when
 * the peer has been idle for a while.
 */
export class BandwidthLimiter {
  readonly limits: Readonly<Required<RateLimits>>
  private readonly global: { upload?: TokenBucket, download?: TokenBucket }
  private readonly perPeer = new Map<string, { upload?: TokenBucket, download?: TokenBucket, used: number }>()

  constructor (limits: RateLimits = {}) {
    this.limits = {
      upload: limits.upload ?? 0,
      download: limits.download ?? 0,
      uploadPerPeer: limits.uploadPerPeer ?? 0,
      downloadPerPeer: limits.downloadPerPeer ?? 0
    }
    this.global = {
      ...(this.limits.upload > 0 ? { upload: new TokenBucket(this.limits.upload) } : {}),
      ...(this.limits.download > 0 ? { download: new TokenBucket(this.limits.download) } : {})
    }
  }

  /** True when any cap is set. */
  get active (): boolean {
    return Object.values(this.limits).some(v => v > 0)
  }

  /** True when uploads are capped (globally or per peer). */
  get limitsUpload (): boolean {
    return this.limits.upload > 0 || this.limits.uploadPerPeer > 0
  }

  /** True when downloads are capped (globally or per peer). */
  get limitsDownload (): boolean {
    return this.limits.download > 0 || this.limits.downloadPerPeer > 0
  }

  /** Wait for room to send `bytes` of chunk data to `peer`. */
  upload (peer: PeerId, bytes: number): Reservation {
    return this.reserve('upload', peer, bytes)
  }

  /** Wait for room to receive `bytes` of chunk data from `peer` (paces requests). */
  download (peer: PeerId, bytes: number): Reservation {
    return this.reserve('download', peer, bytes)
  }

  private reserve (direction: 'upload' | 'download', peer: PeerId, bytes: number): Reservation {
    if (!this.active) return NOW
    const buckets: TokenBucket[] = []
    const g = this.global[direction]
    if (g !== undefined) buckets.push(g)
    const p = this.peerBucket(direction, peer)
    if (p !== undefined) buckets.push(p)
    if (buckets.length === 0) return NOW
    const waitMs = Math.max(...buckets.map(b => b.reserve(bytes)))
    let timer: NodeJS.Timeout | undefined
    let release: () => void = () => {}
    const ready = waitMs === 0
      ? Promise.resolve()
      // (a timer never keeps a stopping daemon alive; waits are capped to what setTimeout can hold)
      : new Promise<void>(resolve => { release = resolve; timer = setTimeout(resolve, Math.min(waitMs, MAX_TIMER_MS)); timer.unref() })
    return {
      ready,
      cancel: () => {
        if (timer !== undefined) clearTimeout(timer)
        for (const b of buckets) b.refund(bytes)
        release()
      }
    }
  }

  private peerBucket (direction: 'upload' | 'download', peer: PeerId): TokenBucket | undefined {
    const rate = direction === 'upload' ? this.limits.uploadPerPeer : this.limits.downloadPerPeer
    if (rate === 0) return undefined
    const key = peer.toString()
    const now = Date.now()
    let entry = this.perPeer.get(key)
    if (entry === undefined) {
      this.sweep(now)
      entry = { used: now }
      this.perPeer.set(key, entry)
    }
    entry.used = now
    entry[direction] ??= new TokenBucket(rate)
    return entry[direction]
  }

  /** Forget peers idle for a minute (their buckets are full again by then anyway). */
  private sweep (now: number): void {
    for (const [key, entry] of this.perPeer) {
      // a bucket still in debt is kept: dropping it would forgive the debt
      if (now - entry.used > 60_000 && entry.upload?.settled !== false && entry.download?.settled !== false) this.perPeer.delete(key)
    }
  }
}

/** Where caps are written down: the rate keys of config.json, which ShoalOptions shares. */
type RateSettings = Pick<RepoConfig, 'maxUpload' | 'maxDownload' | 'maxUploadPerPeer' | 'maxDownloadPerPeer'>

/** The caps in effect: options (flags) over config.json, as bytes per second; throws BAD_REQUEST naming a bad value. */
export function limitsFrom (options: RateSettings, config: RateSettings = {}): RateLimits {
  const pick = (key: keyof RateSettings): number => {
    const value = options[key] ?? config[key]
    if (value === undefined) return 0
    try {
      return parseRate(value)
    } catch (err) {
      throw new ShoalError(ErrorCode.BAD_REQUEST, `${key}: ${(err as Error).message}`, { cause: err })
    }
  }
  return { upload: pick('maxUpload'), download: pick('maxDownload'), uploadPerPeer: pick('maxUploadPerPeer'), downloadPerPeer: pick('maxDownloadPerPeer') }
}
