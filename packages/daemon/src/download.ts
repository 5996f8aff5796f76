import { createHash, timingSafeEqual } from 'node:crypto'
import { logger } from '@libp2p/logger'
import { Bitfield, ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, TransferInfo } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { CHUNK_TIMEOUT_MS, DEFAULT_REQUEST_WINDOW, FLUSH_INTERVAL_MS, MAX_CHUNK_ATTEMPTS } from './constants.js'
import type { PartFiles } from './part-files.js'
import type { DownloadRecord, Records } from './records.js'
import type { PeerSession, SessionEvents } from './xfer-session.js'

const log = logger('shoal:download')

export interface DownloadResult {
  cid: string
  path: string
  size: number
  seconds: number
}

export interface DownloadInit {
  record: DownloadRecord
  layout: ChunkLayout
  part: PartFiles
  records: Records
  /** Chunks already on disk (resume). */
  have?: Bitfield
  /** Chunks requested from one peer at once. @default DEFAULT_REQUEST_WINDOW */
  requestWindow?: number
  onDownloaded?: (peer: PeerId, bytes: number) => void
  /** A peer sent a chunk that failed its hash. */
  onBadPeer?: (peer: PeerId) => void
}

/**
 * One download: schedules chunk requests across peer sessions, verifies
 * every chunk against the manifest, writes it into the part files, and
 * makes progress durable in the order data → sync → bitfield.
 */
export class Download implements SessionEvents {
  readonly record: DownloadRecord
  readonly layout: ChunkLayout
  readonly have: Bitfield
  readonly result: Promise<DownloadResult>
  private readonly part: PartFiles
  private readonly records: Records
  private readonly window: number
  private readonly sessions = new Set<PeerSession>()
  /** chunk index → sessions it is requested from */
  private readonly requested = new Map<number, Set<PeerSession>>()
  /** chunk index → failed attempts */
  private readonly failures = new Map<number, number>()
  /** per session: chunks it said it cannot give */
  private readonly lacks = new WeakMap<PeerSession, Set<number>>()
  private readonly startedAt = Date.now()
  private readonly init: DownloadInit
  private resolve!: (r: DownloadResult) => void
  private reject!: (err: unknown) => void
  private timer?: NodeJS.Timeout
  /** chunks verified and being written */
  private readonly writing = new Set<number>()
  private flushing?: Promise<void>
  private finished = false
  private receivedBytes = 0
  private rateWindow: Array<{ t: number, bytes: number }> = []
  private nextCursor = 0

  constructor (init: DownloadInit) {
    this.init = init
    this.record = init.record
    this.layout = init.layout
    this.part = init.part
    this.records = init.records
    this.window = init.requestWindow ?? DEFAULT_REQUEST_WINDOW
    this.have = init.have ?? new Bitfield(init.layout.chunkCount)
    for (let i = 0; i < this.layout.chunkCount; i++) {
      if (this.have.has(i)) this.receivedBytes += this.layout.locate(i).length
    }
    this.result = new Promise<DownloadResult>((resolve, reject) => { this.resolve = resolve; this.reject = reject })
    this.result.catch(() => {}) // observed by callers; never an unhandled rejection
  }

  /** Start: sets up timers; completes at once when nothing is missing. */
  start (): void {
    this.timer = setInterval(() => { this.tick() }, Math.min(FLUSH_INTERVAL_MS, 1000))
    this.timer.unref()
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
    const now = Date.now()
    this.rateWindow = this.rateWindow.filter(s => now - s.t < 5000)
    if (this.rateWindow.length === 0) return 0
    const bytes = this.rateWindow.reduce((n, s) => n + s.bytes, 0)
    const span = Math.max(1000, now - (this.rateWindow[0]?.t ?? now))
    return Math.round(bytes * 1000 / span)
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
    if (this.finished) { session.close(); return }
    this.sessions.add(session)
    this.lacks.set(session, new Set())
    this.schedule()
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

  onBlock (session: PeerSession, index: number, data: Uint8Array): void {
    this.unrequest(index, session)
    if (this.finished || this.have.has(index) || this.writing.has(index)) return
    const loc = this.layout.locate(index)
    const actual = createHash('sha256').update(data).digest()
    if (data.byteLength !== loc.length || !timingSafeEqual(actual, this.layout.hashOf(index))) {
      log.error('peer %p sent chunk %d of %s that fails its hash: banning it', session.peer, index, this.record.cid)
      this.init.onBadPeer?.(session.peer)
      session.close(new ShoalError(ErrorCode.HASH_MISMATCH, `chunk ${index} failed its hash`))
      this.countFailure(index)
      this.schedule()
      return
    }
    this.init.onDownloaded?.(session.peer, data.byteLength)
    // others asked for the same chunk (end-game): withdraw
    for (const other of this.requested.get(index) ?? []) other.cancel(index)
    this.requested.delete(index)
    this.writing.add(index)
    this.part.write(index, data).then(() => {
      this.writing.delete(index)
      if (this.have.set(index)) {
        this.receivedBytes += data.byteLength
        this.rateWindow.push({ t: Date.now(), bytes: data.byteLength })
      }
      this.maybeFinish()
    }, err => {
      this.writing.delete(index)
      void this.fail(err)
    })
    this.schedule()
  }

  onNotFound (session: PeerSession, index: number): void {
    this.unrequest(index, session)
    this.lacks.get(session)?.add(index)
    this.schedule()
  }

  onClosed (session: PeerSession, err?: unknown): void {
    this.sessions.delete(session)
    for (const index of session.inflight.keys()) this.unrequest(index, session)
    if (err !== undefined) log('session with %p closed: %e', session.peer, err)
    this.schedule()
  }

  // ---- scheduling

  private unrequest (index: number, session: PeerSession): void {
    const set = this.requested.get(index)
    if (set === undefined) return
    set.delete(session)
    if (set.size === 0) this.requested.delete(index)
  }

  private countFailure (index: number): void {
    const n = (this.failures.get(index) ?? 0) + 1
    this.failures.set(index, n)
  }

  private schedule (): void {
    if (this.finished) return
    for (const session of this.sessions) {
      if (session.isClosed) continue
      const lacks = this.lacks.get(session) ?? new Set<number>()
      while (session.inflight.size < this.window) {
        const index = this.pickFor(lacks)
        if (index === undefined) break
        let set = this.requested.get(index)
        if (set === undefined) { set = new Set(); this.requested.set(index, set) }
        set.add(session)
        session.request(index)
      }
    }
    this.checkStuck()
  }

  /** Next missing chunk nobody is fetching and this peer has not refused. */
  private pickFor (lacks: Set<number>): number | undefined {
    const count = this.layout.chunkCount
    for (let n = 0; n < count; n++) {
      const index = (this.nextCursor + n) % count
      if (this.have.has(index) || this.requested.has(index) || this.writing.has(index) || lacks.has(index)) continue
      if ((this.failures.get(index) ?? 0) >= MAX_CHUNK_ATTEMPTS) continue
      this.nextCursor = index + 1
      return index
    }
    this.nextCursor = 0
    return undefined
  }

  /** Fail when no live peer can give a missing chunk. */
  private checkStuck (): void {
    if (this.finished || this.have.complete || this.writing.size > 0 || this.requested.size > 0) return
    const missing = this.layout.chunkCount - this.have.count
    if (missing === 0) return
    if (this.sessions.size === 0) {
      void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `no peer is serving ${this.record.cid} any more (${missing} of ${this.layout.chunkCount} chunks missing); progress is kept, fetch again to resume`))
      return
    }
    void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `the connected peers cannot provide ${missing} chunk(s) of ${this.record.cid}; progress is kept, fetch again to resume`))
  }

  private tick (): void {
    const now = Date.now()
    for (const session of this.sessions) {
      for (const [index, at] of session.inflight) {
        if (now - at > CHUNK_TIMEOUT_MS) {
          log('chunk %d from %p timed out', index, session.peer)
          session.cancel(index)
          this.unrequest(index, session)
          this.countFailure(index)
        }
      }
    }
    void this.flush().catch(err => this.fail(err))
    this.schedule()
  }

  /** Data → sync → bitfield: the stored bitfield never claims an unwritten chunk. */
  private async flush (): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    this.flushing = (async () => {
      const snapshot = Uint8Array.from(this.have.bytes)
      await this.part.sync()
      await this.records.putBitfield(this.record.cid, snapshot)
    })()
    try {
      await this.flushing
    } finally {
      this.flushing = undefined
    }
  }

  private maybeFinish (): void {
    if (this.finished || !this.have.complete || this.writing.size > 0) return
    this.finished = true
    this.stopTimer()
    for (const s of this.sessions) s.close()
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
      await this.flush()
    } catch (flushErr) {
      log.error('could not save progress of %s: %e', this.record.cid, flushErr)
    }
    await this.part.close()
    this.reject(err)
  }

  private stopTimer (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }
}
