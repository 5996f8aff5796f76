import { Bitfield, ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, TransferInfo } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { chunkMatches } from '../../storage/chunk-hash.js'
import { CHUNK_HARD_TIMEOUT_MS, CHUNK_TIMEOUT_MS, FLUSH_EVERY_CHUNKS, SESSION_STALL_MS, FLUSH_INTERVAL_MS, RESOLVE_TIMEOUT_MS, STALL_TIMEOUT_MS } from '../../constants.js'
import type { PartFiles } from '../../storage/part-files.js'
import type { DownloadRecord, Records } from '../../storage/records.js'
import type { PeerSession, SessionEvents } from './peer-session.js'
import { createChunkPicker } from './chunk-picker.js'
import type { ChunkPicker } from './chunk-picker.js'
import { withPriority } from './priority-picker.js'
import { Wants } from './wants.js'
import { rehashHeld, runningInfo } from './download-info.js'

export interface DownloadResult {
  cid: string
  path: string
  size: number
  seconds: number
}

export interface DownloadInit {
  log: Logger
  record: DownloadRecord
  layout: ChunkLayout
  part: PartFiles
  records: Records
  /** Chunks already on disk (resume). */
  have?: Bitfield
  /** Fail when no peer has given us anything for this long. @default STALL_TIMEOUT_MS */
  stallTimeoutMs?: number
  /** Fail when no provider at all is connected for this long. @default RESOLVE_TIMEOUT_MS */
  noProviderTimeoutMs?: number
  /** A peer's chunk (`index`) passed its hash check: called once per verified chunk, before it is written. */
  onDownloaded?: (peer: PeerId, bytes: number, index: number) => void
  /** A peer sent a chunk that failed its hash. */
  onBadPeer?: (peer: PeerId) => void
  /** Chunk `index` is verified and on disk (serve it, announce us, hand `data` to a reader waiting for it). */
  onChunk?: (index: number, data: Uint8Array | Uint8ArrayList) => void
  /** Which chunks to fetch, and which first. @default every chunk, no reader */
  wants?: Wants
  /** Once every wanted chunk is held: put the result in place. @default rename `<out>.part` to `out` */
  finish?: () => Promise<void>
  /** A peer suggested other peers for this root (peer exchange). */
  onPeers?: (addrs: string[]) => void
}

/**
 * One download: keeps its peer sessions' request windows full (sized to
 * measured rates) with the chunks its ChunkPicker chooses (rarest first,
 * end-game duplicates: chunk-picker.ts), times requests out with backoff,
 * verifies every chunk against the manifest, writes it into the part files,
 * and records a chunk in the persisted bitfield only after its write
 * completed (resume re-verifies what the bitfield claims).
 */
export class Download implements SessionEvents {
  private readonly log: Logger
  readonly record: DownloadRecord
  readonly layout: ChunkLayout
  readonly have: Bitfield
  readonly result: Promise<DownloadResult>
  private readonly part: PartFiles
  private readonly records: Records
  private readonly init: DownloadInit
  private readonly sessions = new Set<PeerSession>()
  /** what to ask of whom: availability, requests, refusals, failures; readers' chunks first */
  private readonly picker: ChunkPicker<PeerSession>
  /** which chunks this run fetches (its selection and what readers demand) */
  readonly wants: Wants
  /** chunks being verified and written */
  private readonly writing = new Set<number>()
  private readonly startedAt = Date.now()
  private resolve!: (r: DownloadResult) => void
  private reject!: (err: unknown) => void
  private timer?: NodeJS.Timeout
  private flushing?: Promise<void>
  private finished = false
  private receivedBytes = 0
  private rateWindow: Array<{ t: number, bytes: number }> = []
  private lastProgressAt = Date.now()
  /** last time at least one provider session was open */
  private lastSessionAt = Date.now()
  /** chunks written since the last flush */
  private unflushed = 0

  constructor (init: DownloadInit) {
    this.log = init.log
    this.init = init
    this.record = init.record
    this.layout = init.layout
    this.part = init.part
    this.records = init.records
    this.have = init.have ?? new Bitfield(init.layout.chunkCount)
    this.wants = init.wants ?? new Wants(init.layout, 'all', undefined)
    this.picker = withPriority(createChunkPicker({ chunkCount: init.layout.chunkCount, have: this.wants.pickerHave(this.have) }), this.wants.demand)
    this.wants.bind({ picker: this.picker, have: this.have, writing: this.writing, changed: () => { this.schedule(); this.maybeFinish() } })
    for (let i = 0; i < this.layout.chunkCount; i++) {
      if (this.have.has(i)) this.receivedBytes += this.layout.locate(i).length
    }
    this.result = new Promise<DownloadResult>((resolve, reject) => { this.resolve = resolve; this.reject = reject })
    this.result.catch(() => {}) // observed by callers; never an unhandled rejection
  }

  /**
   * Resume: re-hash every chunk the stored bitfield claims and forget those
   * that do not match (an OS crash can lose writes the bitfield recorded).
   * Returns how many claimed chunks were dropped.
   */
  async verifyHeld (): Promise<number> {
    const dropped = await rehashHeld(this.layout, this.have, this.part, i => {
      if (this.wants.has(i)) this.picker.reopen(i)
      this.receivedBytes -= this.layout.locate(i).length
    })
    if (dropped > 0) this.log('resume of %s: %d claimed chunk(s) failed their hash and will be fetched again', this.record.cid, dropped)
    return dropped
  }

  /** Start: sets up timers; completes at once when nothing is missing. */
  start (): void {
    this.timer = setInterval(() => { this.tick() }, Math.min(FLUSH_INTERVAL_MS, 1000))
    this.timer.unref()
    this.lastProgressAt = Date.now()
    this.lastSessionAt = Date.now()
    this.maybeFinish()
  }

  /** Chunks asked of a peer and not in yet, then those being verified and written (repeats possible): the UI's chunk map. */
  * inFlight (): Generator<number> { for (const s of this.sessions) yield * s.inflight.keys(); yield * this.writing }

  get peerCount (): number {
    return this.sessions.size
  }

  get isFinished (): boolean {
    return this.finished
  }

  /** Bytes per second over the last few seconds. */
  get rate (): number {
    const now = Date.now()
    this.rateWindow = this.rateWindow.filter(s => now - s.t < 5000)
    if (this.rateWindow.length === 0) return 0
    const bytes = this.rateWindow.reduce((n, s) => n + s.bytes, 0)
    const span = Math.max(1000, now - (this.rateWindow[0]?.t ?? now))
    return Math.round(bytes * 1000 / span)
  }

  info (): TransferInfo {
    const { size, received } = this.wants.progress(this.have, this.receivedBytes)
    return runningInfo(this, this.record.out ?? this.part.partPath, size, received)
  }

  addSession (session: PeerSession): void {
    if (this.finished || session.isClosed) { session.close(); return }
    this.sessions.add(session)
    this.picker.addSession(session)
    this.schedule()
  }

  /**
   * A direct connection to `peer` opened (hole punching worked): end the
   * sessions with it that run over a relay, so they reopen on the direct
   * one. Their chunks are asked for again. True when there were any.
   */
  dropRelayedSessionsWith (peer: PeerId): boolean {
    let dropped = false
    for (const session of [...this.sessions]) {
      if (session.peer.equals(peer) && session.connection.limits !== undefined) {
        this.log('direct connection to %p: moving its session off the relay', peer)
        session.close()
        dropped = true
      }
    }
    return dropped
  }

  hasSessionWith (peer: PeerId): boolean {
    for (const s of this.sessions) if (s.peer.equals(peer)) return true
    return false
  }

  /** Stop without finishing (daemon stop or cancel): progress is kept. */
  async abort (reason: ShoalError): Promise<void> {
    if (this.finished) return
    await this.fail(reason)
  }

  // ---- SessionEvents

  onBlock (session: PeerSession, index: number, data: Uint8Array | Uint8ArrayList): void {
    this.picker.unrequest(session, index)
    if (this.finished || this.have.has(index) || this.writing.has(index)) { this.schedule(); return }
    // verifying and writing: nobody else is asked for it meanwhile
    this.writing.add(index)
    this.lastProgressAt = Date.now()
    void this.verifyAndWrite(session, index, data)
    this.schedule()
  }

  private async verifyAndWrite (session: PeerSession, index: number, data: Uint8Array | Uint8ArrayList): Promise<void> {
    const ok = chunkMatches(this.layout, index, data)
    if (this.finished) { this.writing.delete(index); return }
    if (!ok) {
      this.writing.delete(index)
      this.log.error('peer %p sent chunk %d of %s that fails its hash: banning it', session.peer, index, this.record.cid)
      this.init.onBadPeer?.(session.peer)
      session.close(new ShoalError(ErrorCode.HASH_MISMATCH, `chunk ${index} failed its hash`))
      this.picker.failed(index)
      this.schedule()
      return
    }
    this.init.onDownloaded?.(session.peer, data.byteLength, index)
    // others asked for the same chunk (end-game): withdraw
    for (const other of this.picker.completed(index)) other.cancel(index)
    try {
      await this.part.write(index, data)
    } catch (err) {
      this.writing.delete(index)
      void this.fail(err)
      return
    }
    this.writing.delete(index)
    if (this.have.set(index)) {
      this.receivedBytes += data.byteLength
      this.rateWindow.push({ t: Date.now(), bytes: data.byteLength })
      this.init.onChunk?.(index, data)
      if (++this.unflushed >= FLUSH_EVERY_CHUNKS && !this.have.complete) void this.flush().catch(err => this.fail(err))
    }
    this.maybeFinish()
  }

  onNotFound (session: PeerSession, index: number): void {
    this.picker.refused(session, index)
    this.schedule()
  }

  onHave (session: PeerSession, index: number | 'all', previous?: Bitfield): void {
    if (index === 'all') {
      // a partial holder completed: its chunks stop counting toward availability
      this.picker.onHaveAll(session, previous ?? { has: () => false })
    } else {
      this.picker.onHave(session, index)
      this.moveFromSeed(session, index)
    }
    this.schedule()
  }

  /**
   * A partial holder just got a chunk we are waiting on from a seed: ask the
   * partial holder instead and cancel at the seed, sparing the seed's upload.
   */
  private moveFromSeed (holder: PeerSession, index: number): void {
    if (!holder.available(Date.now()) || holder.inflight.size >= holder.window) return
    const seeds = this.picker.moveFromSeeds(holder, index)
    if (seeds.length === 0) return
    for (const seed of seeds) seed.cancel(index)
    holder.request(index)
  }

  onPeers (_session: PeerSession, addrs: string[]): void {
    if (!this.finished) this.init.onPeers?.(addrs)
  }

  onClosed (session: PeerSession, err?: unknown): void {
    // what it was asked for is wanted again
    if (this.sessions.delete(session)) this.picker.removeSession(session)
    if (err !== undefined) this.log('session with %p closed: %e', session.peer, err)
    this.schedule()
  }

  // ---- scheduling

  private schedule (): void {
    if (this.finished) return
    const now = Date.now()
    // best peers first
    const ordered = [...this.sessions].sort((a, b) => b.score - a.score)
    for (const session of ordered) {
      if (!session.available(now)) continue
      const room = session.window - session.inflight.size
      if (room <= 0) continue
      for (const index of this.picker.pick(session, room)) session.request(index)
    }
    this.checkExhausted()
  }

  /** Fail when a missing chunk has failed too often everywhere. */
  private checkExhausted (): void {
    if (this.finished || this.have.complete) return
    const exhausted = this.picker.exhausted()
    if (exhausted === undefined) return
    void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `chunk ${exhausted.index} of ${this.record.cid} failed ${exhausted.attempts} times from every peer that offered it; progress is kept, fetch again to resume`))
  }

  private tick (): void {
    const now = Date.now()
    // nothing wanted is missing (readers idle): neither stalled nor short of providers
    if (!this.wants.missing(this.have)) this.lastProgressAt = this.lastSessionAt = now
    for (const session of this.sessions) {
      // a peer that answers nothing at all while we wait on it: move everything it owes us
      const stalled = session.awaiting > 0 && now - session.lastActivityAt > SESSION_STALL_MS
      if (stalled) this.log('%p sent nothing for %d ms: re-requesting its %d chunk(s) elsewhere', session.peer, now - session.lastActivityAt, session.inflight.size)
      for (const [index, at] of [...session.inflight]) {
        // a request waits its turn behind others on a slow or capped link: it
        // times out only when nothing at all arrived for CHUNK_TIMEOUT_MS since
        // it went out, or after CHUNK_HARD_TIMEOUT_MS whatever (a drip-feeding peer)
        const timedOut = now - Math.max(at, session.lastBytesAt) > CHUNK_TIMEOUT_MS || now - at > CHUNK_HARD_TIMEOUT_MS
        if (stalled || timedOut) {
          this.log('chunk %d from %p timed out', index, session.peer)
          session.cancel(index)
          this.picker.unrequest(session, index)
          // a silent peer is the peer's failure, not the chunk's: only a
          // request that timed out on its own counts toward giving up
          if (!stalled) this.picker.failed(index)
        }
      }
      if (stalled) {
        session.recordFailure(now)
        session.lastActivityAt = now
      }
    }
    if (this.sessions.size > 0) this.lastSessionAt = now
    const noProviderMs = this.init.noProviderTimeoutMs ?? RESOLVE_TIMEOUT_MS
    if (!this.finished && this.writing.size === 0 && now - this.lastSessionAt > noProviderMs) {
      const missing = this.layout.chunkCount - this.have.count
      void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `no provider of ${this.record.cid} for ${Math.round(noProviderMs / 1000)} s (${missing} of ${this.layout.chunkCount} chunks missing); progress is kept, fetch again to resume`))
      return
    }
    const stallMs = this.init.stallTimeoutMs ?? STALL_TIMEOUT_MS
    // bytes still arriving, or our own download cap holding requests back, is not a stall (up to a hard limit)
    const moving = [...this.sessions].some(s => s.holding || now - s.lastBytesAt < stallMs)
    if (!this.finished && this.writing.size === 0 && now - this.lastProgressAt > stallMs && (!moving || now - this.lastProgressAt > CHUNK_HARD_TIMEOUT_MS)) {
      const missing = this.layout.chunkCount - this.have.count
      void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `no peer sent any of the ${missing} missing chunk(s) of ${this.record.cid} in ${Math.round(stallMs / 1000)} s (${this.sessions.size} connected provider(s)); progress is kept, fetch again to resume`))
      return
    }
    void this.flush().catch(err => this.fail(err))
    this.schedule()
  }

  /**
   * Record progress. A bit is set only after its chunk's write completed, so
   * the stored bitfield never claims a chunk that is not in the file (the
   * page cache survives a killed daemon). Data is not fsynced on this hot
   * path: after an OS crash, resume re-verifies every claimed chunk.
   */
  private async flush (): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    this.unflushed = 0
    this.flushing = (async () => {
      await this.records.putBitfield(this.record.cid, Uint8Array.from(this.have.bytes))
    })()
    try {
      await this.flushing
    } finally {
      this.flushing = undefined
    }
  }

  private maybeFinish (): void {
    if (this.finished || !this.wants.complete(this.have) || this.writing.size > 0) return
    this.finished = true
    this.stopTimer()
    this.wants.unbind()
    for (const s of [...this.sessions]) s.close()
    void (async () => {
      try {
        if (this.init.finish !== undefined) await this.init.finish()
        else await this.part.finalize(this.record.out ?? this.part.partPath, this.record.force)
        this.resolve({ cid: this.record.cid, path: this.record.out ?? this.part.partPath, size: this.wants.progress(this.have, this.receivedBytes).size, seconds: (Date.now() - this.startedAt) / 1000 })
      } catch (err) {
        this.finished = false
        await this.fail(err)
      }
    })()
  }

  private async fail (err: unknown): Promise<void> {
    if (this.finished) return
    this.finished = true
    this.stopTimer()
    this.wants.unbind()
    for (const s of [...this.sessions]) s.close()
    try {
      await this.flush()
    } catch (flushErr) {
      this.log.error('could not save progress of %s: %e', this.record.cid, flushErr)
    }
    await this.part.close()
    this.reject(err)
  }

  private stopTimer (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}
