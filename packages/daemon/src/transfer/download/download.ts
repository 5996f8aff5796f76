import { Bitfield, ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, TransferInfo } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { chunkMatches } from '../../storage/chunk-hash.js'
import { CHUNK_HARD_TIMEOUT_MS, MAX_REQUEST_CHUNKS, FLUSH_INTERVAL_MS, RESOLVE_TIMEOUT_MS, STALL_TIMEOUT_MS } from '../../constants.js'
import type { PartFiles } from '../../storage/part-files.js'
import type { DownloadRecord } from '../../storage/records.js'
import type { PeerSession, ReceivedChunk, SessionEvents } from './peer-session.js'
import { createChunkPicker } from './chunk-picker.js'
import type { ChunkPicker } from './chunk-picker.js'
import { ProgressRecorder } from './progress-recorder.js'
import { RecentRate } from './recent-rate.js'
import { expiredRequests } from './request-timeouts.js'
import { WriteBacklog } from './write-backlog.js'
import { withPriority } from './priority-picker.js'
import { Wants } from './wants.js'
import { rehashHeld, runningInfo } from './download-info.js'
import type { DownloadInit, DownloadResult } from './download-api.js'

export type { DownloadInit, DownloadResult }

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
  /** what to ask of whom: availability, requests, refusals, failures; readers' chunks first */
  private readonly picker: ChunkPicker<PeerSession>
  /** which chunks this run fetches (its selection and what readers demand) */
  readonly wants: Wants
  /** chunks being verified and written */
  private readonly writing = new Set<number>()
  /** verified chunks waiting for their write to complete */
  private readonly backlog = new WriteBacklog()
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
    this.wants = init.wants ?? new Wants(init.layout, 'all', undefined)
    const lengthOf = (index: number): number => init.layout.lengthOf(index)
    this.picker = withPriority(createChunkPicker({ chunkCount: init.layout.chunkCount, have: this.wants.pickerHave(this.have), lengthOf }), this.wants.demand, lengthOf)
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
    return this.recent.perSecond()
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

  /**
   * A BLOCK's chunks that `session` was asked for (one, or a pack): each is
   * verified on its own, and those still missing are written together. A
   * chunk that fails its hash bans the peer; the rest of its pack is dropped
   * (the session's requests go elsewhere).
   */
  onBlocks (session: PeerSession, blocks: ReceivedChunk[]): void {
    const verified: ReceivedChunk[] = []
    for (const { index, data } of blocks) {
      this.picker.unrequest(session, index)
      if (this.finished || this.have.has(index) || this.writing.has(index)) continue
      if (!chunkMatches(this.layout, index, data)) {
        this.log.error('peer %p sent chunk %d of %s that fails its hash: banning it', session.peer, index, this.record.cid)
        this.init.onBadPeer?.(session.peer)
        session.close(new ShoalError(ErrorCode.HASH_MISMATCH, `chunk ${index} failed its hash`))
        this.picker.failed(index)
        break
      }
      // being written: nobody else is asked for it meanwhile
      this.writing.add(index)
      this.lastProgressAt = Date.now()
      this.init.onDownloaded?.(session.peer, data.byteLength, index)
      // others asked for the same chunk (end-game): withdraw
      for (const other of this.picker.completed(index)) other.cancel(index)
      this.backlog.add(data.byteLength)
      verified.push({ index, data })
    }
    if (verified.length > 0) this.write(verified)
    this.schedule()
  }

  /** Write verified chunks; then each is recorded and handed on (`written`). */
  private write (chunks: ReceivedChunk[]): void {
    this.part.writeChunks(chunks).then(() => {
      for (const { index, data } of chunks) this.written(index, this.layout.lengthOf(index), data)
    }, err => {
      for (const { index } of chunks) {
        this.backlog.done(this.layout.lengthOf(index))
        this.writing.delete(index)
      }
      void this.fail(err)
    })
  }

  /** Chunk `index` is verified and on disk: record it, offer it (its bytes to a reader waiting for them), maybe finish. */
  private written (index: number, length: number, data: Uint8Array | Uint8ArrayList): void {
    this.backlog.done(length)
    this.writing.delete(index)
    // (the backlog shrank: if it held requests back, they may go out now)
    this.schedule()
    if (this.have.set(index)) {
      this.receivedBytes += length
      this.recent.add(length)
      this.init.onChunk?.(index, data)
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
    if (this.finished || this.backlog.full) return
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
    // nothing wanted is missing (readers idle): neither stalled nor short of providers
    if (!this.wants.missing(this.have)) this.lastProgressAt = this.lastSessionAt = now
    for (const session of this.sessions) {
      // a silent peer: everything it owes us moves elsewhere (request-timeouts.ts)
      const { stalled, expired } = expiredRequests(session, now)
      if (stalled) this.log('%p sent nothing for %d ms: re-requesting its %d chunk(s) elsewhere', session.peer, now - session.lastActivityAt, session.inflight.size)
      else if (expired.length > 0) this.log('%d chunk(s) from %p timed out', expired.length, session.peer)
      for (const index of expired) {
        session.cancel(index)
        this.picker.unrequest(session, index)
        // only a request that timed out on its own counts toward giving up on the chunk
        if (!stalled) this.picker.failed(index)
      }
      if (stalled) {
        session.recordFailure(now)
        session.lastActivityAt = now
      }
    }
    if (this.sessions.size > 0) this.lastSessionAt = now
    const noProviderMs = this.init.noProviderTimeoutMs ?? RESOLVE_TIMEOUT_MS
    const missing = this.layout.chunkCount - this.have.count
    if (!this.finished && this.writing.size === 0 && now - this.lastSessionAt > noProviderMs) {
      return this.giveUp(`no provider of ${this.record.cid} for ${Math.round(noProviderMs / 1000)} s (${missing} of ${this.layout.chunkCount} chunks missing)`)
    }
    const stallMs = this.init.stallTimeoutMs ?? STALL_TIMEOUT_MS
    // bytes still arriving, or our own download cap holding requests back, is not a stall (up to a hard limit)
    const moving = [...this.sessions].some(s => s.holding || now - s.lastBytesAt < stallMs)
    if (!this.finished && this.writing.size === 0 && now - this.lastProgressAt > stallMs && (!moving || now - this.lastProgressAt > CHUNK_HARD_TIMEOUT_MS)) {
      return this.giveUp(`no peer sent any of the ${missing} missing chunk(s) of ${this.record.cid} in ${Math.round(stallMs / 1000)} s (${this.sessions.size} connected provider(s))`)
    }
    void this.progress.flush().catch(err => this.fail(err))
    this.schedule()
  }

  /** Fail with NO_PROVIDERS because `why`; what is held is kept. */
  private giveUp (why: string): void {
    void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `${why}; progress is kept, fetch again to resume`))
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
