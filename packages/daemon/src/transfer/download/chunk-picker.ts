/**
 * The chunk picker owns one download's choice of what to ask whom: how many
 * partial holders have each chunk (availability; seeds are not counted), which
 * chunks are requested from which sessions, which chunk each session refused
 * (a NOT_FOUND keeps that session from being asked for that chunk for
 * NOT_FOUND_RETRY_MS, or until it announces the chunk), and how often each
 * chunk failed. Wanted chunks (missing, not requested, not failed
 * MAX_CHUNK_ATTEMPTS times) sit in buckets by availability, each bucket a
 * bitset under summary bitsets, ordered by position after this download's
 * random start `s`: s, s+1, …, n−1, 0, …, s−1. A partial holder gets the
 * chunks it has from the lowest bucket (rarest first; its own chunks are
 * never in bucket 0), ties to the first in that order; a seed gets only
 * bucket 0, the chunks no partial holder has, so seeds upload each chunk
 * about once and leechers spread it (super-seeding spare). That is exactly
 * the order a scan of the whole file from `s` for the lowest availability
 * gave, so downloads that start at once still take different stretches. A
 * scan never looks at held or requested chunks: each session keeps a cursor
 * per bucket past the chunks it was found not to have (moved back when a
 * chunk enters that bucket before it, and restarted when a refusal it skipped
 * expires or availability changes in bulk), so a seed's pick costs O(log₃₂ n)
 * plus the refusals it skips, and a partial holder looks at each wanted chunk
 * of the rarest buckets about once, not once per pick. End-game: once at most
 * ENDGAME_CHUNKS chunks are missing, a session with nothing else to do is also
 * asked for a chunk in flight at exactly one other session (oldest request
 * first) — never a third.
 */
import { ENDGAME_CHUNKS, MAX_CHUNK_ATTEMPTS, NOT_FOUND_RETRY_MS } from '../../constants.js'
import { PositionSet } from './position-set.js'

import type { ChunkPicker, ChunkPickerInit, PickerSession } from './picker-api.js'

export type { ChunkPicker, ChunkPickerInit, PickerSession }

export function createChunkPicker<S extends PickerSession> (init: ChunkPickerInit): ChunkPicker<S> {
  return new DefaultChunkPicker<S>(init)
}

/** Chunk states. */
const WANTED = 0 // in the bucket of its availability
const REQUESTED = 1 // asked of at least one session
const DONE = 2 // held, or verified and being written
const EXHAUSTED = 3 // failed too often, asked of nobody

const MAX_AVAILABILITY = 0xffff

/** One pick as it fills: at most `max` chunks, `maxBytes` bytes. */
interface Pick {
  chunks: number[]
  bytes: number
  max: number
  maxBytes: number
  /** Nothing more goes in. */
  full: boolean
}

interface Peer {
  /** A partial holder, counted in availability (seeds are not). */
  counted: boolean
  /** Chunks requested from this session. */
  readonly asked: Set<number>
  /** Chunk → time until which the session refused it. */
  readonly lacks: Map<number, number>
  /** Per availability bucket: position where this session's next scan of it resumes (missing: 0). */
  cursors: number[]
  /** The earliest expiry of a refusal a cursor moved past: then the cursors start over. */
  wakeAt: number
}

class DefaultChunkPicker<S extends PickerSession> implements ChunkPicker<S> {
  scanned = 0
  private readonly count: number
  private readonly start: number
  private readonly state: Uint8Array
  /** Per chunk: partial holders that have it. */
  private readonly availability: Uint16Array
  /** Availability → wanted chunks with it, by position after `start`. */
  private readonly buckets: Array<PositionSet | undefined> = []
  /** Chunk → sessions it is requested from (insertion order: end-game takes the oldest first). */
  private readonly requested = new Map<number, S[]>()
  /** Chunk → failed attempts. */
  private readonly failures = new Map<number, number>()
  private readonly peers = new Map<S, Peer>()
  private done = 0
  private readonly endgameChunks: number
  private readonly notFoundRetryMs: number
  private readonly maxAttempts: number
  private readonly now: () => number
  private readonly lengthOf: (index: number) => number

  constructor (init: ChunkPickerInit) {
    this.count = init.chunkCount
    this.endgameChunks = init.endgameChunks ?? ENDGAME_CHUNKS
    this.notFoundRetryMs = init.notFoundRetryMs ?? NOT_FOUND_RETRY_MS
    this.maxAttempts = init.maxAttempts ?? MAX_CHUNK_ATTEMPTS
    this.now = init.now ?? Date.now
    this.lengthOf = init.lengthOf ?? (() => 1)
    const random = init.random ?? Math.random
    this.start = Math.min(Math.max(0, this.count - 1), Math.floor(random() * Math.max(1, this.count)))
    this.state = new Uint8Array(this.count)
    this.availability = new Uint16Array(this.count)
    const wanted = this.bucket(0)
    for (let i = 0; i < this.count; i++) {
      if (init.have?.has(i) === true) {
        this.state[i] = DONE
        this.done++
      } else {
        wanted.add(this.positionOf(i))
      }
    }
  }

  addSession (session: S): void {
    if (this.peers.has(session)) return
    const peer: Peer = { counted: !session.isSeed, asked: new Set(), lacks: new Map(), cursors: [], wakeAt: Infinity }
    this.peers.set(session, peer)
    if (peer.counted) this.recount(session, +1)
  }

  removeSession (session: S): void {
    const peer = this.peers.get(session)
    if (peer === undefined) return
    this.peers.delete(session)
    for (const index of peer.asked) this.withdraw(session, index)
    if (peer.counted) this.recount(session, -1)
  }

  onHave (session: S, index: number): void {
    const peer = this.peers.get(session)
    if (peer === undefined || !this.inRange(index)) return
    peer.lacks.delete(index)
    if (peer.counted) this.setAvailability(index, Math.min(MAX_AVAILABILITY, this.availabilityOf(index) + 1), true)
    // no longer refused: this session's scan must see it again
    if (this.state[index] === WANTED) this.lower(peer, this.availabilityOf(index), this.positionOf(index))
  }

  onHaveAll (session: S, previous: { has(index: number): boolean }): void {
    const peer = this.peers.get(session)
    if (peer === undefined) return
    peer.lacks.clear()
    if (peer.counted) {
      // a partial holder completed: its chunks stop counting, as a seed's do not
      peer.counted = false
      for (let i = 0; i < this.count; i++) {
        if (previous.has(i)) this.setAvailability(i, Math.max(0, this.availabilityOf(i) - 1), false)
      }
      this.trim()
    }
    this.restartScans()
  }

  pick (session: S, max = 1, maxBytes = Infinity): number[] {
    const out: Pick = { chunks: [], bytes: 0, max, maxBytes, full: false }
    const peer = this.peers.get(session)
    if (peer === undefined || max < 1) return out.chunks
    const now = this.now()
    if (now >= peer.wakeAt) { peer.cursors = []; peer.wakeAt = Infinity }
    // a partial holder's chunks are in bucket 1 and up; a seed gets only
    // bucket 0, what no partial holder has
    const first = peer.counted ? 1 : 0
    const last = peer.counted ? this.buckets.length - 1 : 0
    for (let a = first; a <= last && !out.full; a++) this.scan(session, peer, a, now, out)
    if (!out.full && this.count - this.done <= this.endgameChunks) this.endgame(session, peer, now, out)
    return out.chunks
  }

  claim (session: S, index: number): boolean {
    const peer = this.peers.get(session)
    if (peer === undefined || !this.inRange(index) || this.state[index] !== WANTED || this.refusedBy(peer, index, this.now()) || !session.has(index)) return false
    this.buckets[this.availabilityOf(index)]?.delete(this.positionOf(index))
    this.state[index] = REQUESTED
    this.ask(session, peer, index)
    return true
  }

  moveFromSeeds (holder: S, index: number): S[] {
    const askedOf = this.requested.get(index)
    const peer = this.peers.get(holder)
    if (askedOf === undefined || peer === undefined || askedOf.includes(holder) || askedOf.some(s => !s.isSeed)) return []
    for (const seed of askedOf) this.peers.get(seed)?.asked.delete(index)
    this.requested.set(index, [holder])
    peer.asked.add(index)
    return askedOf
  }

  unrequest (session: S, index: number): void {
    this.peers.get(session)?.asked.delete(index)
    this.withdraw(session, index)
  }

  refused (session: S, index: number): void {
    this.unrequest(session, index)
    this.peers.get(session)?.lacks.set(index, this.now() + this.notFoundRetryMs)
  }

  failed (index: number): void {
    const attempts = (this.failures.get(index) ?? 0) + 1
    this.failures.set(index, attempts)
    if (attempts >= this.maxAttempts && this.state[index] === WANTED) {
      this.buckets[this.availabilityOf(index)]?.delete(this.positionOf(index))
      this.state[index] = EXHAUSTED
    }
  }

  completed (index: number): S[] {
    if (!this.inRange(index) || this.state[index] === DONE) return []
    if (this.state[index] === WANTED) this.buckets[this.availabilityOf(index)]?.delete(this.positionOf(index))
    this.state[index] = DONE
    this.done++
    const askedOf = this.requested.get(index)
    if (askedOf === undefined) return []
    this.requested.delete(index)
    for (const s of askedOf) this.peers.get(s)?.asked.delete(index)
    return askedOf
  }

  reopen (index: number): void {
    if (!this.inRange(index) || this.state[index] !== DONE) return
    this.done--
    this.enter(index)
  }

  exhausted (): { index: number, attempts: number } | undefined {
    for (const [index, attempts] of this.failures) {
      if (attempts >= this.maxAttempts && this.state[index] !== DONE) return { index, attempts }
    }
    return undefined
  }

  // ---- scanning

  /** Take what `session` can give from bucket `a`, from its cursor on. */
  private scan (session: S, peer: Peer, a: number, now: number, out: Pick): void {
    const bucket = this.buckets[a]
    if (bucket === undefined || bucket.size === 0) return
    let p = bucket.next(peer.cursors[a] ?? 0)
    while (p !== -1) {
      this.scanned++
      const index = this.indexAt(p)
      if (!this.refusedBy(peer, index, now) && session.has(index)) {
        if (!this.fits(out, index)) break
        bucket.delete(p)
        this.state[index] = REQUESTED
        this.ask(session, peer, index)
        if (out.full) { p = bucket.next(p + 1); break }
      }
      p = bucket.next(p + 1)
    }
    // everything before p was taken, or is not this session's to give
    peer.cursors[a] = p === -1 ? this.count : p
  }

  /** Near the end: chunks in flight at exactly one other session. */
  private endgame (session: S, peer: Peer, now: number, out: Pick): void {
    for (const [index, askedOf] of this.requested) {
      if (out.full) return
      this.scanned++
      if (askedOf.length >= 2 || askedOf.includes(session) || (this.failures.get(index) ?? 0) >= this.maxAttempts) continue
      if (this.refusedBy(peer, index, now) || !session.has(index)) continue
      if (!this.fits(out, index)) return
      this.ask(session, peer, index)
    }
  }

  /** Add `index` to the pick if it fits in its bytes (then true); marks the pick full when it is. */
  private fits (out: Pick, index: number): boolean {
    const length = this.lengthOf(index)
    if (out.bytes + length > out.maxBytes) { out.full = true; return false }
    out.chunks.push(index)
    out.bytes += length
    if (out.chunks.length >= out.max || out.bytes >= out.maxBytes) out.full = true
    return true
  }

  private refusedBy (peer: Peer, index: number, now: number): boolean {
    const until = peer.lacks.get(index)
    if (until === undefined) return false
    if (until > now) {
      peer.wakeAt = Math.min(peer.wakeAt, until)
      return true
    }
    peer.lacks.delete(index)
    return false
  }

  private ask (session: S, peer: Peer, index: number): void {
    const askedOf = this.requested.get(index)
    if (askedOf === undefined) this.requested.set(index, [session])
    else askedOf.push(session)
    peer.asked.add(index)
  }

  /** `session` no longer asked for `index`; asked of nobody, it is wanted again. */
  private withdraw (session: S, index: number): void {
    const askedOf = this.requested.get(index)
    const at = askedOf?.indexOf(session) ?? -1
    if (askedOf === undefined || at === -1) return
    askedOf.splice(at, 1)
    if (askedOf.length > 0) return
    this.requested.delete(index)
    if (this.state[index] === REQUESTED) this.enter(index)
  }

  /** A chunk not held and asked of nobody: into its bucket, unless it failed too often. */
  private enter (index: number): void {
    if ((this.failures.get(index) ?? 0) >= this.maxAttempts) {
      this.state[index] = EXHAUSTED
      return
    }
    this.state[index] = WANTED
    const a = this.availabilityOf(index)
    const p = this.positionOf(index)
    this.bucket(a).add(p)
    for (const peer of this.peers.values()) this.lower(peer, a, p)
  }

  private setAvailability (index: number, value: number, lowerCursors: boolean): void {
    const before = this.availabilityOf(index)
    if (value === before) return
    this.availability[index] = value
    if (this.state[index] !== WANTED) return
    const p = this.positionOf(index)
    this.buckets[before]?.delete(p)
    this.bucket(value).add(p)
    if (lowerCursors) for (const peer of this.peers.values()) this.lower(peer, value, p)
  }

  /** A session's chunks start or stop counting: availability changes in bulk, every scan starts over. */
  private recount (session: S, delta: 1 | -1): void {
    for (let i = 0; i < this.count; i++) {
      if (session.has(i)) this.setAvailability(i, Math.min(MAX_AVAILABILITY, Math.max(0, this.availabilityOf(i) + delta)), false)
    }
    this.trim()
    this.restartScans()
  }

  private lower (peer: Peer, a: number, p: number): void {
    const cursor = peer.cursors[a]
    if (cursor !== undefined && cursor > p) peer.cursors[a] = p
  }

  private restartScans (): void {
    for (const peer of this.peers.values()) { peer.cursors = []; peer.wakeAt = Infinity }
  }

  /** Free empty buckets at the top (availability fell). */
  private trim (): void {
    while (this.buckets.length > 1 && (this.buckets[this.buckets.length - 1]?.size ?? 0) === 0) this.buckets.pop()
  }

  private bucket (a: number): PositionSet {
    while (this.buckets.length <= a) this.buckets.push(undefined)
    let bucket = this.buckets[a]
    if (bucket === undefined) {
      bucket = new PositionSet(this.count)
      this.buckets[a] = bucket
    }
    return bucket
  }

  private availabilityOf (index: number): number {
    return this.availability[index] as number
  }

  private inRange (index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.count
  }

  private positionOf (index: number): number {
    return index >= this.start ? index - this.start : index - this.start + this.count
  }

  private indexAt (position: number): number {
    const index = position + this.start
    return index < this.count ? index : index - this.count
  }
}
