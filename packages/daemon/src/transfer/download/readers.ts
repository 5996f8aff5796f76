import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Uint8ArrayList } from 'uint8arraylist'
import { READ_STASH_BYTES } from '../../constants.js'
import { Demand } from './demand.js'

/** A verified chunk's bytes, as they arrived. */
export type ChunkData = Uint8Array | Uint8ArrayList

interface Waiter {
  resolve: (data: ChunkData | undefined) => void
  reject: (err: unknown) => void
}

interface Root {
  demand: Demand
  waiters: Map<number, Set<Waiter>>
  /** Chunks verified while a reader's window covered them, kept until it reads them. */
  stash: Map<number, ChunkData>
  /** Chunk → readers whose window's range includes it, held or not: what the stash keeps. */
  inRange: Map<number, number>
}

/**
 * Readers of content this node is fetching (`cat`, the gateway), per root:
 * their demand (demand.ts), readers waiting for a chunk, and the bytes of
 * chunks that arrived inside a reader's window, handed over in memory (at
 * most READ_STASH_BYTES for all roots together: reading them back from
 * disk would cost as much as fetching them, downloads being written past
 * the page cache). Lives across download runs of the root.
 */
export class Readers {
  private readonly roots = new Map<string, Root>()
  private stashed = 0

  constructor (private readonly maxStashBytes = READ_STASH_BYTES) {}

  /** True while a reader of `cid` is open. */
  reading (cid: string): boolean {
    return (this.roots.get(cid)?.demand.readers ?? 0) > 0
  }

  /** What readers of `cid` demand, if any reads it. */
  demand (cid: string): Demand | undefined {
    return this.roots.get(cid)?.demand
  }

  /** A new reader of `cid` (a root of `chunkCount` chunks); `isHeld` says which chunks need no fetching. */
  open (cid: string, chunkCount: number, isHeld: (index: number) => boolean): ReaderWindow {
    const root = this.root(cid, chunkCount)
    root.demand.attach()
    return new ReaderWindow(this, cid, root.demand, isHeld)
  }

  /** Chunk `index` of `cid` is verified and written: hand it to whoever waits, keep it for a reader whose window covers it. */
  gained (cid: string, index: number, data: ChunkData): void {
    const root = this.roots.get(cid)
    if (root === undefined) return
    const waiting = root.waiters.get(index)
    root.waiters.delete(index)
    if (waiting !== undefined && waiting.size > 0) {
      for (const w of waiting) w.resolve(data)
    } else if (root.inRange.has(index) && this.stashed + data.byteLength <= this.maxStashBytes && !root.stash.has(index)) {
      root.stash.set(index, data)
      this.stashed += data.byteLength
    }
    root.demand.held(index)
  }

  /** Chunks of `cid` held after all (loaded from disk): nobody needs to fetch them; waiters look again. */
  alreadyHeld (cid: string, isHeld: (index: number) => boolean): void {
    const root = this.roots.get(cid)
    if (root === undefined) return
    for (const i of root.demand.indexes()) {
      if (!isHeld(i)) continue
      root.demand.held(i)
      this.wake(root, i)
    }
  }

  /** A download run of `cid` ended: waiters look again (`err` undefined) or fail with `err`. */
  ended (cid: string, err?: unknown): void {
    const root = this.roots.get(cid)
    if (root === undefined) return
    if (err !== undefined) root.demand.dropLingering()
    for (const [index, waiting] of root.waiters) {
      root.waiters.delete(index)
      for (const w of waiting) { if (err === undefined) w.resolve(undefined); else w.reject(err) }
    }
    this.forget(cid, root)
  }

  /** The bytes of chunk `index` kept in memory for a reader, taken out. */
  take (cid: string, index: number): ChunkData | undefined {
    const root = this.roots.get(cid)
    const data = root?.stash.get(index)
    if (root === undefined || data === undefined) return undefined
    root.stash.delete(index)
    this.stashed -= data.byteLength
    return data
  }

  /**
   * Wait for chunk `index` of `cid`: its bytes when it arrives, undefined
   * when the download run ended and the reader should look again. Fails
   * with TIMEOUT after `ms`, or with `signal`'s reason.
   */
  async wait (cid: string, index: number, ms: number, signal?: AbortSignal): Promise<ChunkData | undefined> {
    const root = this.roots.get(cid)
    if (root === undefined) return undefined
    signal?.throwIfAborted()
    root.demand.urge(index)
    let waiter: Waiter | undefined
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const done = (): void => {
      clearTimeout(timer)
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
      const set = root.waiters.get(index)
      if (waiter !== undefined) set?.delete(waiter)
      if (set?.size === 0) root.waiters.delete(index)
    }
    return await new Promise<ChunkData | undefined>((resolve, reject) => {
      waiter = { resolve: d => { done(); resolve(d) }, reject: e => { done(); reject(e) } }
      let set = root.waiters.get(index)
      if (set === undefined) { set = new Set(); root.waiters.set(index, set) }
      set.add(waiter)
      const w = waiter
      timer = setTimeout(() => { w.reject(new ShoalError(ErrorCode.TIMEOUT, `chunk ${index} of ${cid} did not arrive within ${Math.round(ms / 1000)} s (its providers are gone or silent)`)) }, ms)
      onAbort = () => { w.reject(signal?.reason) }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** A reader of `cid` left. */
  closed (cid: string): void {
    const root = this.roots.get(cid)
    if (root === undefined) return
    root.demand.detach()
    this.forget(cid, root)
  }

  /**
   * A reader's window now spans `first` … `last` (-1 … -2: none) instead of
   * `from` … `to`: chunks kept in memory that no window spans any more are
   * dropped (a reader that seeks away, or leaves).
   */
  span (cid: string, from: number, to: number, first: number, last: number): void {
    const root = this.roots.get(cid)
    if (root === undefined) return
    for (let i = first; i <= last; i++) if (i < from || i > to) root.inRange.set(i, (root.inRange.get(i) ?? 0) + 1)
    for (let i = from; i <= to; i++) {
      if (i >= first && i <= last) continue
      const n = (root.inRange.get(i) ?? 1) - 1
      if (n > 0) { root.inRange.set(i, n); continue }
      root.inRange.delete(i)
      const data = root.stash.get(i)
      if (data === undefined) continue
      root.stash.delete(i)
      this.stashed -= data.byteLength
    }
  }

  private wake (root: Root, index: number): void {
    const waiting = root.waiters.get(index)
    root.waiters.delete(index)
    for (const w of waiting ?? []) w.resolve(undefined)
  }

  private root (cid: string, chunkCount: number): Root {
    let root = this.roots.get(cid)
    if (root === undefined) {
      root = { demand: new Demand(chunkCount), waiters: new Map(), stash: new Map(), inRange: new Map() }
      this.roots.set(cid, root)
    }
    return root
  }

  /** Nothing left of a root: no reader, waiter, kept chunk or demand. */
  private forget (cid: string, root: Root): void {
    if (root.demand.readers === 0 && root.waiters.size === 0 && root.stash.size === 0 && root.demand.size === 0) this.roots.delete(cid)
  }
}

/**
 * One reader's window on a root: the chunks from the one it reads next
 * through its read-ahead, demanded while not held. Moving it demands the
 * new chunks and releases those it left; closing it leaves its read-ahead
 * to be fetched (linger) and releases the reader.
 */
export class ReaderWindow {
  /** The chunks of the window demanded (not held when it moved there). */
  private window: number[] = []
  /** The window's span. */
  private first = -1
  private last = -2
  private isClosed = false

  constructor (private readonly readers: Readers, private readonly cid: string, private readonly demand: Demand, private readonly isHeld: (index: number) => boolean) {}

  /** Demand chunks `first` … `last` (inclusive) from now on. */
  move (first: number, last: number): void {
    if (this.isClosed) return
    const next: number[] = []
    for (let i = first; i <= last; i++) if (!this.isHeld(i)) next.push(i)
    const keep = new Set(next)
    const old = new Set(this.window)
    const left = this.window.filter(i => !keep.has(i))
    this.demand.cover(next.filter(i => !old.has(i)))
    this.demand.uncover(left)
    this.window = next
    this.readers.span(this.cid, this.first, this.last, first, last)
    this.first = first
    this.last = last
  }

  /** The reader is done (or gone): what it asked to read ahead is still fetched, nothing more. */
  close (): void {
    if (this.isClosed) return
    this.isClosed = true
    this.demand.uncover(this.window, true)
    this.readers.span(this.cid, this.first, this.last, -1, -2)
    this.readers.closed(this.cid)
    this.window = []
  }
}
