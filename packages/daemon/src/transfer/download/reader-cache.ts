import type { Logger } from '@libp2p/interface'
import { READER_CACHE_GRACE_MS } from '../../constants.js'
import type { Holding } from './holding.js'

export interface ReaderCacheComponents {
  /** Bytes the cache may hold; 0: no limit. */
  limit: number
  /** The holdings loaded now (running downloads, partial shares at rest). */
  holdings: () => Iterable<Holding>
  /** True while `cid` is read, fetched, or starting: it is not removed then. */
  busy: (cid: string) => boolean
  /** Remove what is held of `cid` and its record (`Fetcher.cancel`). */
  remove: (cid: string) => Promise<void>
  log: Logger
  /** A root read this recently stays. @default READER_CACHE_GRACE_MS */
  graceMs?: number
}

/**
 * Chunks fetched for readers alone (`cat`, the gateway: a root with no
 * download, its part files in `<repo>/partial/<cid>`) are a cache: past
 * `limit` bytes in all, the roots read least recently that nothing reads or
 * fetches now are removed, oldest first, until the rest fits. A root read
 * in the last READER_CACHE_GRACE_MS is kept until then (a media player
 * comes back with the next range request), so even one root alone over the
 * limit goes only once its readers have been gone that long. What a `fetch`
 * asked for is never counted or removed: a fetch of a cached root gives it
 * an output and takes it out of the cache.
 */
export class ReaderCache {
  private readonly lastRead = new Map<string, number>()
  private trimming?: Promise<void>
  private again = false
  private timer?: NodeJS.Timeout
  private closed = false

  constructor (private readonly c: ReaderCacheComponents) {}

  /** `cid` is being read now. */
  touch (cid: string): void {
    if (this.c.limit > 0) this.lastRead.set(cid, Date.now())
  }

  /** Bytes held for readers alone now. */
  size (): number {
    let total = 0
    for (const h of this.c.holdings()) if (cachedOnly(h)) total += h.heldBytes()
    return total
  }

  /** Bring the cache under its limit (one pass at a time; a call during one runs another after it). */
  async trim (): Promise<void> {
    if (this.c.limit <= 0 || this.closed) return
    if (this.trimming !== undefined) {
      this.again = true
      return await this.trimming
    }
    this.trimming = (async () => {
      do {
        this.again = false
        await this.pass()
      } while (this.again)
    })().finally(() => { this.trimming = undefined })
    return await this.trimming
  }

  private async pass (): Promise<void> {
    const cached = [...this.c.holdings()].filter(cachedOnly).map(h => ({ cid: h.record.cid, bytes: h.heldBytes(), at: this.lastRead.get(h.record.cid) ?? (Date.parse(h.record.startedAt) || 0) }))
    // read times of roots that are not in the cache (held whole, or gone) are not kept:
    // a root read later is touched again, and one being opened is busy
    const inCache = new Set(cached.map(e => e.cid))
    for (const cid of this.lastRead.keys()) if (!inCache.has(cid) && !this.c.busy(cid)) this.lastRead.delete(cid)
    let total = cached.reduce((n, e) => n + e.bytes, 0)
    if (total <= this.c.limit) return
    const now = Date.now()
    const grace = this.c.graceMs ?? READER_CACHE_GRACE_MS
    let retryAt = Number.POSITIVE_INFINITY
    for (const entry of cached.sort((a, b) => a.at - b.at)) {
      if (total <= this.c.limit || this.closed) break
      if (this.c.busy(entry.cid)) continue
      if (now - entry.at < grace) { retryAt = Math.min(retryAt, entry.at + grace); continue }
      try {
        await this.c.remove(entry.cid)
        this.lastRead.delete(entry.cid)
        total -= entry.bytes
        this.c.log('reader cache over %d bytes: removed %s (%d bytes)', this.c.limit, entry.cid, entry.bytes)
      } catch (err) {
        this.c.log.error('cannot remove %s from the reader cache: %e', entry.cid, err)
      }
    }
    // over the limit still, with roots read too recently to go: look again when they may
    if (total > this.c.limit && Number.isFinite(retryAt)) this.later(retryAt - now)
  }

  private later (ms: number): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => { this.timer = undefined; void this.trim() }, Math.max(0, ms) + 10)
    this.timer.unref()
  }

  /** No more passes (the node is stopping). */
  close (): void {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
  }
}

/** A root held for readers alone: no download asked for it (no output). */
function cachedOnly (h: Holding): boolean {
  return h.record.out === undefined
}
