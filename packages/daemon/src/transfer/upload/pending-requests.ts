import type { ChunkRun } from './request-queue.js'

/**
 * The requests an xfer stream has taken from its queue and not yet answered,
 * per chunk (a peer may ask for a chunk again after cancelling it), and the
 * cancels that arrived for them. Each cancel drops one such request before
 * it is sent; a request asked for again after a cancel is still served.
 */
export class PendingRequests {
  private readonly taken = new Map<number, number>()
  private readonly cancelled = new Map<number, number>()

  /** A request for chunk `index` left the queue and is being served. */
  take (index: number): void {
    this.taken.set(index, (this.taken.get(index) ?? 0) + 1)
  }

  /** The chunks of `first` .. `first + count - 1` with a request taken and not answered. */
  takenIn (first: number, count: number): number[] {
    return [...this.taken.keys()].filter(i => i >= first && i < first + count)
  }

  /** The peer cancelled chunk `index`: one pending request of it will not be sent (none pending: ignored). */
  cancel (index: number): void {
    const c = this.cancelled.get(index) ?? 0
    if (c < (this.taken.get(index) ?? 0)) this.cancelled.set(index, c + 1)
  }

  /** True, using the cancel up, when a request of chunk `index` is to be dropped. */
  dropped (index: number): boolean {
    const c = this.cancelled.get(index) ?? 0
    if (c === 0) return false
    if (c === 1) this.cancelled.delete(index)
    else this.cancelled.set(index, c - 1)
    return true
  }

  /** One request of chunk `index` is done (sent, dropped, or failed). */
  answered (index: number): void {
    const t = (this.taken.get(index) ?? 1) - 1
    if (t <= 0) { this.taken.delete(index); this.cancelled.delete(index); return }
    this.taken.set(index, t)
    if ((this.cancelled.get(index) ?? 0) > t) this.cancelled.set(index, t)
  }

  /** Every chunk of the run left the queue together (a pack, or one chunk). */
  takeRun ({ first, count }: ChunkRun): void {
    for (let i = first; i < first + count; i++) this.take(i)
  }

  /** Every chunk of the run is done. */
  answeredRun ({ first, count }: ChunkRun): void {
    for (let i = first; i < first + count; i++) this.answered(i)
  }

  /** The runs of `batch` still wanted: its chunks cancelled since they left the queue dropped (using those cancels up). */
  wanted ({ first, count }: ChunkRun): ChunkRun[] {
    const runs: ChunkRun[] = []
    for (let index = first; index < first + count; index++) {
      if (this.dropped(index)) continue
      const last = runs[runs.length - 1]
      if (last !== undefined && last.first + last.count === index) last.count++
      else runs.push({ first: index, count: 1 })
    }
    return runs
  }
}
