/** How far back a download's rate looks. */
const SPAN_MS = 5_000
/** Bytes arriving within this long of each other are added up in one sample. */
const SLOT_MS = 100

/**
 * Bytes per second over the last few seconds (a download's `rate`), from
 * samples of at most SLOT_MS each, so a download of small files, which
 * completes thousands of chunks a second, keeps at most SPAN_MS / SLOT_MS
 * samples rather than one per chunk.
 */
export class RecentRate {
  private samples: Array<{ t: number, bytes: number }> = []

  add (bytes: number, now = Date.now()): void {
    const last = this.samples[this.samples.length - 1]
    if (last !== undefined && now - last.t < SLOT_MS) last.bytes += bytes
    else this.samples.push({ t: now, bytes })
  }

  /** Bytes per second over the last SPAN_MS (measured over at least 1 s). */
  perSecond (now = Date.now()): number {
    this.samples = this.samples.filter(s => now - s.t < SPAN_MS)
    if (this.samples.length === 0) return 0
    const bytes = this.samples.reduce((n, s) => n + s.bytes, 0)
    const span = Math.max(1000, now - (this.samples[0]?.t ?? now))
    return Math.round(bytes * 1000 / span)
  }
}
