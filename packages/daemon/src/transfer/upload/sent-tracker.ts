/** Per root and chunk: how often, when and to whom it was last uploaded. */
export class SentTracker {
  private readonly roots = new Map<string, { counts: Uint8Array, at: Float64Array, to: Array<string | undefined> }>()

  of (cid: string, chunkCount: number): SentLog {
    let r = this.roots.get(cid)
    if (r?.counts.length !== chunkCount) {
      r = { counts: new Uint8Array(chunkCount), at: new Float64Array(chunkCount), to: new Array<string | undefined>(chunkCount) }
      this.roots.set(cid, r)
    }
    const { counts, at, to } = r
    return {
      record: (index, peer) => {
        if ((counts[index] as number) < 255) counts[index] = (counts[index] as number) + 1
        at[index] = Date.now()
        to[index] = peer
      },
      count: (index) => counts[index] ?? 0,
      sentElsewhereSince: (index, peer, since) => (at[index] as number) >= since && to[index] !== undefined && to[index] !== peer
    }
  }
}

export interface SentLog {
  record(index: number, peer: string): void
  count(index: number): number
  /** True when chunk `index` went to a peer other than `peer` at or after `since`. */
  sentElsewhereSince(index: number, peer: string, since: number): boolean
}
