import { ErrorCode, ShoalError } from '@shoal/protocol'

/** A run of consecutive chunks: `first` .. `first + count - 1`. */
export interface ChunkRun {
  first: number
  count: number
}

/** What the queue asks of its stream about each chunk when it forms the next batch. */
export interface BatchPolicy {
  /** Never uploaded before: such a request goes first. */
  fresh(index: number): boolean
  /** Can be sent now (held, not refused by super-seeding); a batch is all servable or all refused. */
  servable(index: number): boolean
  /** Bytes of the chunk if it is short enough to be packed with others, else undefined. */
  packable(index: number): number | undefined
}

/** The next thing to answer: a run of chunks to send, or to refuse with NOT_FOUND. */
export interface Batch extends ChunkRun {
  servable: boolean
}

/** How many queued runs are looked at for one whose first chunk was never sent. */
const FRESH_SCAN = 64

/**
 * The requests an xfer stream has queued and not yet started to serve, as
 * runs of chunks in arrival order (a REQUEST of `count` chunks is one run).
 * Bounded in chunks: one request past `limit` queued chunks is a protocol
 * error. `take` forms the next batch: the first queued run (of the first
 * FRESH_SCAN) whose first chunk was never uploaded, else the oldest; from
 * it, one full chunk, or as many consecutive short chunks as fit in
 * `packBytes` (a pack, one BLOCK), all servable or all refused.
 */
export class RequestQueue {
  private readonly runs: ChunkRun[] = []
  /** Chunks queued. */
  size = 0

  constructor (private readonly limit: number, private readonly packBytes: number) {}

  /** Queue chunks `first` .. `first + count - 1`; PROTOCOL_ERROR past the limit. */
  add (first: number, count: number): void {
    if (this.size + count > this.limit) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `more than ${this.limit} chunks requested and not yet served`)
    }
    this.runs.push({ first, count })
    this.size += count
  }

  /** The chunks of `first` .. `first + count - 1` that have a request queued, each once, in order (at most `size`). */
  queuedIn (first: number, count: number): number[] {
    const end = first + count
    const out = new Set<number>()
    for (const run of this.runs) {
      for (let i = Math.max(first, run.first); i < Math.min(end, run.first + run.count); i++) out.add(i)
    }
    return [...out].sort((a, b) => a - b)
  }

  /** Drop the first queued request of each chunk in the run; returns the chunks none was queued for. */
  cancel (first: number, count: number): number[] {
    const missing: number[] = []
    for (let index = first; index < first + count; index++) {
      if (!this.remove(index)) missing.push(index)
    }
    return missing
  }

  /** The next batch to answer, taken off the queue; undefined when the queue is empty. */
  take (policy: BatchPolicy): Batch | undefined {
    if (this.runs.length === 0) return undefined
    let at = 0
    for (let i = 0; i < Math.min(FRESH_SCAN, this.runs.length); i++) {
      if (policy.fresh((this.runs[i] as ChunkRun).first)) { at = i; break }
    }
    const run = this.runs[at] as ChunkRun
    const first = run.first
    const servable = policy.servable(first)
    let count = 1
    let bytes = policy.packable(first)
    // a pack: short chunks after it while they fit and answer the same way
    while (bytes !== undefined && count < run.count) {
      const next = first + count
      const length = policy.packable(next)
      if (length === undefined || bytes + length > this.packBytes || policy.servable(next) !== servable) break
      bytes += length
      count++
    }
    run.first += count
    run.count -= count
    if (run.count === 0) this.runs.splice(at, 1)
    this.size -= count
    return { first, count, servable }
  }

  /** Remove one queued request of `index` (the first run holding it), splitting its run. */
  private remove (index: number): boolean {
    const at = this.runs.findIndex(r => index >= r.first && index < r.first + r.count)
    if (at < 0) return false
    const run = this.runs[at] as ChunkRun
    const after: ChunkRun = { first: index + 1, count: run.first + run.count - index - 1 }
    run.count = index - run.first
    const keep = [run, after].filter(r => r.count > 0)
    this.runs.splice(at, 1, ...keep)
    this.size--
    return true
  }
}
