/**
 * Which block to ask of which Bitswap provider, for one UnixFS fetch. The
 * set of blocks grows as the DAG is walked; Bitswap providers announce
 * nothing of what they hold, so every provider is treated as holding
 * everything (as seeds are in the ChunkPicker) until it answers DONT_HAVE.
 * Rules: every block is asked of one provider at a time; the DAG's inner
 * nodes (structure) go before leaves, so the leaves are known early and the
 * queues stay full; a DONT_HAVE keeps that provider from being asked for that
 * block for NOT_FOUND_RETRY_MS; a request that fails (timed out, withdrawn
 * from a silent provider) puts the block back first in line; end-game: once
 * at most `endgameBlocks` blocks are missing, a provider with nothing else to
 * do may also be asked for a block in flight at exactly one other provider,
 * oldest request first — never a third. Tested alone with stub sessions.
 */
import type { CID } from 'multiformats/cid'
import { MAX_CHUNK_ATTEMPTS, NOT_FOUND_RETRY_MS } from '../../constants.js'
import { IPFS_ENDGAME_BLOCKS, IPFS_PICK_SCAN_LIMIT } from '../../constants.js'

/** A block to fetch. */
export interface WantedBlock {
  key: string
  cid: CID
  /** An inner node (or not known to be a leaf): fetched before leaves. */
  structure: boolean
  /** The bytes its parent says it holds, when it is likely a leaf: what a download cap makes room for before asking. */
  size?: number
}

interface Item extends WantedBlock {
  /** Sessions it is asked of now, oldest first (at most two, in the end-game). */
  askedOf: unknown[]
  /** Session → until when it said DONT_HAVE. */
  refused: Map<unknown, number>
  attempts: number
  requestedAt: number
}

export interface BlockSchedulerInit {
  /** @default IPFS_ENDGAME_BLOCKS */
  endgameBlocks?: number
  /** @default NOT_FOUND_RETRY_MS */
  notFoundRetryMs?: number
  /** @default MAX_CHUNK_ATTEMPTS */
  maxAttempts?: number
  /** @default Date.now */
  now?: () => number
}

/** See the module comment. Sessions are told apart by identity. */
export class BlockScheduler<S> {
  private readonly items = new Map<string, Item>()
  /** Wanted and not asked of anyone: blocks put back after a failure first, then by kind, in order. */
  private readonly retryQueue = new Set<string>()
  private readonly structureQueue = new Set<string>()
  private readonly leafQueue = new Set<string>()
  private readonly endgameBlocks: number
  private readonly notFoundRetryMs: number
  private readonly maxAttempts: number
  private readonly now: () => number
  /** Blocks received so far. */
  completed = 0

  constructor (init: BlockSchedulerInit = {}) {
    this.endgameBlocks = init.endgameBlocks ?? IPFS_ENDGAME_BLOCKS
    this.notFoundRetryMs = init.notFoundRetryMs ?? NOT_FOUND_RETRY_MS
    this.maxAttempts = init.maxAttempts ?? MAX_CHUNK_ATTEMPTS
    this.now = init.now ?? Date.now
  }

  /** Blocks wanted and not yet received. */
  get missing (): number {
    return this.items.size
  }

  /** Blocks waiting for a provider to be asked. */
  get queued (): number {
    return this.retryQueue.size + this.structureQueue.size + this.leafQueue.size
  }

  /** True while `key` is wanted. */
  wants (key: string): boolean {
    return this.items.has(key)
  }

  /** The block wanted under `key`, if it is. */
  get (key: string): WantedBlock | undefined {
    return this.items.get(key)
  }

  /** Want a block (again no-op when it is already wanted). */
  want (block: WantedBlock): void {
    if (this.items.has(block.key)) return
    this.items.set(block.key, { ...block, askedOf: [], refused: new Map(), attempts: 0, requestedAt: 0 })
    this.enqueue(block.key, block.structure, false)
  }

  /** Up to `max` blocks to ask of `session`, best first; recorded as asked of it. */
  pick (session: S, max: number): WantedBlock[] {
    const out: WantedBlock[] = []
    if (max <= 0) return out
    const now = this.now()
    let scanned = 0
    for (const queue of [this.retryQueue, this.structureQueue, this.leafQueue]) {
      for (const key of queue) {
        if (out.length >= max || scanned++ >= IPFS_PICK_SCAN_LIMIT) break
        const item = this.items.get(key) as Item
        if ((item.refused.get(session) ?? 0) > now) continue
        queue.delete(key)
        this.ask(item, session, now)
        out.push(item)
      }
    }
    // end-game: the last few blocks may also be asked of a second provider
    if (out.length < max && this.queued === 0 && this.items.size <= this.endgameBlocks) {
      const candidates = [...this.items.values()]
        .filter(i => i.askedOf.length === 1 && !i.askedOf.includes(session) && (i.refused.get(session) ?? 0) <= now)
        .sort((a, b) => a.requestedAt - b.requestedAt)
      for (const item of candidates.slice(0, max - out.length)) {
        this.ask(item, session, now)
        out.push(item)
      }
    }
    return out
  }

  /** `key` arrived and verified: it is no longer wanted. Returns the other sessions it was asked of, to cancel. */
  received (key: string, from?: S): S[] {
    const item = this.items.get(key)
    if (item === undefined) return []
    this.items.delete(key)
    this.retryQueue.delete(key)
    this.structureQueue.delete(key)
    this.leafQueue.delete(key)
    this.completed++
    return item.askedOf.filter(s => s !== from) as S[]
  }

  /** `session` answered DONT_HAVE for `key`: ask someone else. */
  refused (session: S, key: string): void {
    const item = this.items.get(key)
    if (item === undefined) return
    item.refused.set(session, this.now() + this.notFoundRetryMs)
    this.drop(item, session, true)
  }

  /** `session` is no longer asked for `key` (timed out, withdrawn); `failed` counts an attempt. */
  unrequest (session: S, key: string, failed = false): void {
    const item = this.items.get(key)
    if (item === undefined) return
    if (failed) item.attempts++
    this.drop(item, session, true)
  }

  /** A session closed: what it was asked for goes back first in line. */
  removeSession (session: S): void {
    for (const item of this.items.values()) {
      item.refused.delete(session)
      if (item.askedOf.includes(session)) this.drop(item, session, true)
    }
  }

  /** A block that failed `maxAttempts` times, if any: the fetch cannot finish. */
  exhausted (): WantedBlock & { attempts: number } | undefined {
    for (const item of this.items.values()) if (item.attempts >= this.maxAttempts) return item
    return undefined
  }

  /** True when every `sessions` refused every queued block (a fetch then waits for new providers). */
  allRefused (sessions: S[]): boolean {
    if (this.queued === 0 || sessions.length === 0) return false
    const now = this.now()
    for (const key of [...this.retryQueue, ...this.structureQueue, ...this.leafQueue]) {
      const item = this.items.get(key) as Item
      if (sessions.some(s => (item.refused.get(s) ?? 0) <= now)) return false
    }
    return true
  }

  private ask (item: Item, session: S, now: number): void {
    item.askedOf.push(session)
    item.requestedAt = now
  }

  private drop (item: Item, session: S, requeue: boolean): void {
    const at = item.askedOf.indexOf(session)
    if (at >= 0) item.askedOf.splice(at, 1)
    if (requeue && item.askedOf.length === 0) this.enqueue(item.key, item.structure, true)
  }

  private enqueue (key: string, structure: boolean, retry: boolean): void {
    const queue = retry ? this.retryQueue : structure ? this.structureQueue : this.leafQueue
    queue.add(key)
  }
}
