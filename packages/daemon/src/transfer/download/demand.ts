import { PositionSet } from './position-set.js'

/** Told when chunks start or stop being demanded. */
export type DemandListener = (added: readonly number[], removed: readonly number[]) => void

/**
 * What readers of one root (`cat`, the gateway) want and do not hold yet:
 * each reader's window (the chunk it waits for and its read-ahead), counted
 * per chunk, plus what closed readers left to read ahead (`linger`), until
 * it arrives. A running download of the root fetches these first: the
 * chunks readers are blocked on (`nextUrgent`: a player that seeks gets its
 * chunk before another reader's read-ahead), then the rest lowest index
 * first (`next`); and it fetches them even when they are outside its
 * selection. A chunk stops being demanded when it is held (`held`) or no
 * window covers it any more.
 */
export class Demand {
  /** Readers attached now (`attach` / `detach`). */
  readers = 0
  /** Chunk → windows that cover it (attached readers). */
  private readonly refs = new Map<number, number>()
  /** Chunks closed readers left to read ahead. */
  private readonly lingering = new Set<number>()
  /** Demanded chunks, by index: the order they are asked for. */
  private readonly order: PositionSet
  /** Demanded chunks a reader is blocked on now: asked for before any other. */
  private readonly blocking: PositionSet
  private readonly listeners = new Set<DemandListener>()

  constructor (readonly chunkCount: number) {
    this.order = new PositionSet(Math.max(1, chunkCount))
    this.blocking = new PositionSet(Math.max(1, chunkCount))
  }

  /** Demanded chunks not held. */
  get size (): number {
    return this.order.size
  }

  has (index: number): boolean {
    return this.order.has(index)
  }

  /** The first demanded chunk at or after `from`, or -1. */
  next (from: number): number {
    return this.order.next(from)
  }

  /** The first chunk at or after `from` that a reader is blocked on, or -1. */
  nextUrgent (from: number): number {
    return this.blocking.next(from)
  }

  /** A reader waits for demanded chunk `index` now (a media player's seek): it goes before read-ahead. */
  urge (index: number): void {
    if (this.order.has(index)) this.blocking.add(index)
  }

  /** Every demanded chunk, lowest first. */
  indexes (): number[] {
    const out: number[] = []
    for (let p = this.order.next(0); p !== -1; p = this.order.next(p + 1)) out.push(p)
    return out
  }

  listen (listener: DemandListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** A window now also covers `indexes` (those held are left out by the caller). */
  cover (indexes: readonly number[]): void {
    const added: number[] = []
    for (const i of indexes) {
      this.refs.set(i, (this.refs.get(i) ?? 0) + 1)
      if (!this.order.has(i)) { this.order.add(i); added.push(i) }
    }
    this.emit(added, [])
  }

  /** A window no longer covers `indexes`; with `linger`, those still demanded stay until they arrive. */
  uncover (indexes: readonly number[], linger = false): void {
    const removed: number[] = []
    for (const i of indexes) {
      const n = this.refs.get(i)
      if (n === undefined) continue
      if (n > 1) { this.refs.set(i, n - 1); continue }
      this.refs.delete(i)
      this.blocking.delete(i)
      if (linger) this.lingering.add(i)
      else if (!this.lingering.has(i)) { this.order.delete(i); removed.push(i) }
    }
    this.emit([], removed)
  }

  /** A reader attached. */
  attach (): void {
    this.readers++
  }

  /** A reader left: a run that only served readers may be done now. */
  detach (): void {
    this.readers--
    for (const l of this.listeners) l([], [])
  }

  /** Chunk `index` arrived: nobody waits for it any more. */
  held (index: number): void {
    this.refs.delete(index)
    this.lingering.delete(index)
    this.order.delete(index)
    this.blocking.delete(index)
  }

  /** Forget what closed readers left behind (the download that was fetching it failed). */
  dropLingering (): void {
    const removed: number[] = []
    for (const i of this.lingering) {
      if (this.refs.has(i)) continue
      this.order.delete(i)
      removed.push(i)
    }
    this.lingering.clear()
    this.emit([], removed)
  }

  private emit (added: readonly number[], removed: readonly number[]): void {
    if (added.length === 0 && removed.length === 0) return
    for (const l of this.listeners) l(added, removed)
  }
}
