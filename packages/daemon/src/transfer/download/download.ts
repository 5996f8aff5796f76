import { Bitfield, ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, TransferInfo } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { chunkMatches } from '../../storage/chunk-hash.js'
import { CHUNK_HARD_TIMEOUT_MS, CHUNK_TIMEOUT_MS, MAX_REQUEST_CHUNKS, SESSION_STALL_MS, WRITE_BACKLOG_BYTES, FLUSH_INTERVAL_MS, RESOLVE_TIMEOUT_MS, STALL_TIMEOUT_MS } from '../../constants.js'
import type { PartFiles } from '../../storage/part-files.js'
import type { DownloadRecord, Records } from '../../storage/records.js'
import type { PeerSession, SessionEvents } from './peer-session.js'
import { createChunkPicker } from './chunk-picker.js'
import type { ChunkPicker } from './chunk-picker.js'
import { ProgressRecorder } from './progress-recorder.js'
import { RecentRate } from './recent-rate.js'

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
  /** A peer's chunk passed its hash check: called once per verified chunk, before it is written. */
  onDownloaded?: (peer: PeerId, bytes: number) => void
  /** A peer sent a chunk that failed its hash. */
  onBadPeer?: (peer: PeerId) => void
  /** Chunk `index` is verified and on disk (serve it, announce us). */
  onChunk?: (index: number) => void
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
  private readonly init: DownloadInit
  private readonly sessions = new Set<PeerSession>()
  /** what to ask of whom: availability, requests, refusals, failures */
  private readonly picker: ChunkPicker<PeerSession>
  /** chunks being verified and written */
  private readonly writing = new Set<number>()
  /** bytes of verified chunks waiting for their write to complete */
  private backlog = 0
  private readonly startedAt = Date.now()
  private resolve!: (r: DownloadResult) => void
  private reject!: (err: unknown) => void
  private timer?: NodeJS.Timeout
  private finished = false
  private receivedBytes = 0
  private readonly recent = new RecentRate()
  private lastProgressAt = Date.now()
  /** last time at least one provider session was open */
  private lastSessionAt = Date.now()
  /** stores the bitfield */
  private readonly progress: ProgressRecorder
  /** a scheduling pass is queued for the end of this turn */
  private scheduled = false

  constructor (init: DownloadInit) {
    this.log = init.log
    this.init = init
    this.record = init.record
    this.layout = init.layout
    this.part = init.part
    this.have = init.have ?? new Bitfield(init.layout.chunkCount)
    this.progress = new ProgressRecorder(init.records, init.record.cid, this.have)
    this.picker = createChunkPicker({ chunkCount: init.layout.chunkCount, have: this.have, lengthOf: index => init.layout.lengthOf(index) })
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
    let dropped = 0
    for (let i = 0; i < this.layout.chunkCount; i++) {
      if (!this.have.has(i)) continue
      const data = await this.part.read(i)
      if (!chunkMatches(this.layout, i, data)) {
        this.have.clear(i)
        this.picker.reopen(i)
        this.receivedBytes -= this.layout.locate(i).length
        dropped++
      }
    }
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

  get peerCount (): number {
    return this.sessions.size
  }

  get isFinished (): boolean {
    return this.finished
  }

  /** Bytes per second over the last few seconds. */
  get rate (): number {
    return this.recent.perSecond()
  }

  info (): TransferInfo {
    return {
      cid: this.record.cid,
      path: this.record.out,
      state: this.finished ? 'done' : 'active',
      size: this.layout.totalSize,
      received: this.receivedBytes,
      chunks: this.layout.chunkCount,
      chunksDone: this.have.count,
      peers: this.sessions.size,
      rate: this.rate
    }
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
    this.verifyAndWrite(session, index, data)
    this.schedule()
  }

  private verifyAndWrite (session: PeerSession, index: number, data: Uint8Array | Uint8ArrayList): void {
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
    const length = data.byteLength
    this.init.onDownloaded?.(session.peer, length)
    // others asked for the same chunk (end-game): withdraw
    for (const other of this.picker.completed(index)) other.cancel(index)
    this.backlog += length
    // (nothing here holds the received bytes while the write runs)
    this.part.write(index, data).then(() => { this.written(index, length) }, err => {
      this.backlog -= length
      this.writing.delete(index)
      void this.fail(err)
    })
  }

  /** Chunk `index` is verified and on disk: record it, offer it, maybe finish. */
  private written (index: number, length: number): void {
    this.backlog -= length
    this.writing.delete(index)
    // (the backlog shrank: if it held requests back, they may go out now)
    this.schedule()
    if (this.have.set(index)) {
      this.receivedBytes += length
      this.recent.add(length)
      this.init.onChunk?.(index)
      this.progress.written(length, err => { void this.fail(err) })
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
    if (!holder.available(Date.now()) || holder.inflight.size >= MAX_REQUEST_CHUNKS) return
    if (holder.inflightBytes + this.layout.lengthOf(index) > holder.windowBytes) return
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

  /**
   * Refill the sessions' request windows at the end of this turn of the
   * event loop: a pack of short chunks answers many requests at once, and
   * one pass then refills for all of them (their REQUESTs go in one write).
   */
  private schedule (): void {
    if (this.scheduled || this.finished) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.fill()
    })
  }

  /** Give each session (best peers first) what its window has room for, in bytes and in chunks (none while the write backlog is full). */
  private fill (): void {
    // a disk slower than the network: nothing more until the writes catch up
    if (this.finished || this.backlog >= WRITE_BACKLOG_BYTES) return
    const now = Date.now()
    const ordered = [...this.sessions].sort((a, b) => b.score - a.score)
    for (const session of ordered) {
      if (!session.available(now)) continue
      const bytes = session.windowBytes - session.inflightBytes
      const chunks = MAX_REQUEST_CHUNKS - session.inflight.size
      if (bytes <= 0 || chunks <= 0) continue
      for (const index of this.picker.pick(session, chunks, bytes)) session.request(index)
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
    void this.progress.flush().catch(err => this.fail(err))
    this.schedule()
  }

  private maybeFinish (): void {
    if (this.finished || !this.have.complete || this.writing.size > 0) return
    this.finished = true
    this.stopTimer()
    for (const s of [...this.sessions]) s.close()
    void (async () => {
      try {
        await this.part.finalize(this.record.out, this.record.force)
        this.resolve({ cid: this.record.cid, path: this.record.out, size: this.layout.totalSize, seconds: (Date.now() - this.startedAt) / 1000 })
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
    for (const s of [...this.sessions]) s.close()
    try {
      await this.progress.flush()
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
