/**
 * One UnixFS fetch while it runs: a session per Bitswap provider, each with
 * a window of want-blocks sized to its measured rate, filled with what the
 * BlockScheduler picks; blocks go to the UnixfsTree, which writes them and
 * asks for their children. A new provider is first probed with one block:
 * it becomes a full session once it delivered one, and is dropped (for this
 * fetch) if it answers DONT_HAVE first. A provider that sends nothing (not a
 * byte) for IPFS_SESSION_STALL_MS while owing blocks has them asked elsewhere and backs off
 * (1 s, doubling, at most 30 s), then is asked again;
 * a want unanswered for CHUNK_TIMEOUT_MS counts as a failed attempt. The
 * fetch fails with NO_PROVIDERS when no block arrived for the stall timeout,
 * or no provider was connected for the resolve timeout. Under a download cap
 * (`pace`) a want waits for room for the block's expected size (what its
 * parent says of a leaf, else nothing) before it goes out; when the block
 * comes the reservation is given back and its real size taken instead, so
 * the cap holds whatever the guess. Time spent waiting for room is not a
 * stall.
 */
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Logger, PeerId } from '@libp2p/interface'
import {
  BACKOFF_BASE_MS, BACKOFF_MAX_MS, CHUNK_TIMEOUT_MS, FLUSH_INTERVAL_MS, IPFS_MAX_WINDOW, IPFS_MIN_WINDOW, IPFS_REFILL_FRACTION,
  IPFS_NUDGE_MS, IPFS_SESSION_STALL_MS, IPFS_START_WINDOW, IPFS_WINDOW_SECONDS, RATE_SPAN_MS, RESOLVE_TIMEOUT_MS, STALL_TIMEOUT_MS
} from '../../constants.js'
import { BlockScheduler } from './block-scheduler.js'
import type { WantedBlock } from './block-scheduler.js'
import type { BitswapClient, BlockReceiver } from './bitswap-client.js'
import type { UnixfsTree } from './unixfs-tree.js'

/** Room a download cap made for some bytes (BandwidthLimiter's Reservation). */
export interface Reservation {
  /** Resolves when the bytes may come. */
  ready: Promise<void>
  /** They did not come: give the room back. */
  cancel(): void
}

/** One provider of this fetch. */
class ProviderSession {
  /** Wants asked (or held back by a cap: +Infinity) → when they went out. */
  readonly inflight = new Map<string, number>()
  /** Wants held back by a download cap, with their reservation. */
  readonly held = new Map<string, Reservation>()
  /** What wants that went out reserved, until their block comes. */
  readonly reserved = new Map<string, Reservation>()
  /** Wants let through by the cap this turn, to send as one list. */
  released: WantedBlock[] = []
  probing = true
  window = 1
  lastActivityAt = Date.now()
  failures = 0
  backoffUntil = 0
  blocks = 0
  lastNudgeAt = 0
  private samples: Array<{ t: number, bytes: number }> = []
  private bytesSeen = 0

  constructor (readonly peer: PeerId) {}

  delivered (bytes: number, now: number): void {
    this.blocks++
    this.lastActivityAt = now
    this.failures = 0
    this.bytesSeen += bytes
    this.samples.push({ t: now, bytes })
    while (this.samples.length > 0 && now - (this.samples[0] as { t: number }).t > RATE_SPAN_MS) this.samples.shift()
    if (this.probing) { this.probing = false; this.window = IPFS_START_WINDOW; return }
    const span = Math.max(50, now - (this.samples[0] as { t: number }).t)
    const rate = this.samples.reduce((n, s) => n + s.bytes, 0) * 1000 / span
    const average = this.bytesSeen / this.blocks
    this.window = Math.max(IPFS_MIN_WINDOW, Math.min(IPFS_MAX_WINDOW, Math.ceil(rate * IPFS_WINDOW_SECONDS / Math.max(1, average))))
  }
}

export interface DagDownloadInit {
  tree: UnixfsTree
  client: BitswapClient
  log: Logger
  /** @default STALL_TIMEOUT_MS */
  stallTimeoutMs?: number
  /** @default RESOLVE_TIMEOUT_MS */
  noProviderTimeoutMs?: number
  /** Called with each verified block's provider and size. */
  onDownloaded?: (peer: PeerId, bytes: number) => void
  /** A download cap: room for `bytes` from `peer` (BandwidthLimiter.download). */
  pace?: (peer: PeerId, bytes: number) => Reservation
  /** Save progress (every FLUSH_INTERVAL_MS, and at the end). */
  flush: () => Promise<void>
}

/** See the module comment. */
export class DagDownload implements BlockReceiver {
  readonly scheduler = new BlockScheduler<ProviderSession>()
  readonly result: Promise<void>
  private readonly init: DagDownloadInit
  private readonly sessions = new Map<string, ProviderSession>()
  /** Peers that had nothing for this fetch: not asked again by it. */
  private readonly barren = new Set<string>()
  private resolve!: () => void
  private reject!: (err: unknown) => void
  private timer?: NodeJS.Timeout
  private finished = false
  private lastBlockAt = Date.now()
  private lastSessionAt = Date.now()
  private lastFlushAt = Date.now()
  private writing = 0
  private scheduled = false

  constructor (init: DagDownloadInit) {
    this.init = init
    this.result = new Promise<void>((resolve, reject) => { this.resolve = resolve; this.reject = reject })
    this.result.catch(() => {})
  }

  get peerCount (): number {
    return [...this.sessions.values()].filter(s => !s.probing).length
  }

  /** A block the tree needs: queue it. */
  want (block: WantedBlock): void {
    this.scheduler.want(block)
    this.schedule()
  }

  start (): void {
    this.timer = setInterval(() => { this.tick() }, 500)
    this.timer.unref()
    this.init.client.add(this)
    this.maybeFinish()
  }

  /** A possible provider: probe it, unless it had nothing before. */
  addProvider (peer: PeerId): void {
    const key = peer.toString()
    if (this.finished || this.sessions.has(key) || this.barren.has(key)) return
    this.sessions.set(key, new ProviderSession(peer))
    this.lastSessionAt = Date.now()
    this.schedule()
  }

  hasProvider (peer: PeerId): boolean {
    return this.sessions.has(peer.toString()) || this.barren.has(peer.toString())
  }

  async abort (reason: unknown): Promise<void> {
    await this.fail(reason)
  }

  // ---- BlockReceiver

  wants (key: string): boolean {
    return !this.finished && this.scheduler.wants(key)
  }

  onBlock (peer: PeerId, key: string, bytes: Uint8Array): void {
    const wanted = this.scheduler.get(key)
    if (wanted === undefined) return
    const now = Date.now()
    const session = this.sessions.get(peer.toString())
    if (session !== undefined) this.forget(session, key)
    session?.delivered(bytes.byteLength, now)
    this.lastBlockAt = now
    this.init.onDownloaded?.(peer, bytes.byteLength)
    // under a cap: the guess made room for was given back (forget), the real size is taken (its wait falls on the next wants)
    this.init.pace?.(peer, bytes.byteLength)
    for (const other of this.scheduler.received(key, session)) {
      this.forget(other, key)
      this.init.client.cancel(other.peer, [wanted.cid])
    }
    this.writing++
    this.init.tree.onBlock(wanted.cid, bytes).then(() => {
      this.writing--
      this.maybeFinish()
      this.schedule()
    }, err => { this.writing--; void this.fail(err) })
    this.schedule()
  }

  onDontHave (peer: PeerId, key: string): void {
    const session = this.sessions.get(peer.toString())
    if (session === undefined || !session.inflight.has(key) || session.held.has(key)) return
    this.forget(session, key)
    session.lastActivityAt = Date.now()
    if (session.probing) { this.dropSession(session, true); return }
    this.scheduler.refused(session, key)
    this.schedule()
  }

  onActivity (peer: PeerId): void {
    const session = this.sessions.get(peer.toString())
    if (session !== undefined) session.lastActivityAt = Date.now()
  }

  onPeerGone (peer: PeerId): void {
    const session = this.sessions.get(peer.toString())
    if (session !== undefined) this.dropSession(session, false)
  }

  // ---- scheduling

  /** Schedule once per turn of the event loop, however many blocks arrived in it: fewer, larger want lists. */
  private schedule (): void {
    if (this.scheduled || this.finished) return
    this.scheduled = true
    setImmediate(() => { this.scheduled = false; this.scheduleNow() })
  }

  private scheduleNow (): void {
    if (this.finished) return
    const now = Date.now()
    const ordered = [...this.sessions.values()].sort((a, b) => b.blocks - a.blocks)
    for (const session of ordered) {
      if (session.backoffUntil > now) continue
      const room = session.window - session.inflight.size
      // a probing session asks for one; others wait until a quarter of the window is free
      if (room <= 0 || (!session.probing && room < Math.max(1, Math.floor(session.window * IPFS_REFILL_FRACTION)) && session.inflight.size > 0)) continue
      const picked = this.scheduler.pick(session, room)
      if (picked.length === 0) continue
      if (this.init.pace !== undefined) {
        for (const block of picked) this.hold(session, block, this.init.pace)
        continue
      }
      for (const block of picked) session.inflight.set(block.key, now)
      if (session.inflight.size === picked.length) session.lastActivityAt = now
      this.send(session, picked)
    }
  }

  private send (session: ProviderSession, blocks: WantedBlock[]): void {
    this.init.client.want(session.peer, blocks.map(b => b.cid)).catch(err => {
      this.init.log('cannot send wants to %p: %e', session.peer, err)
      this.dropSession(session, true)
    })
  }

  /** Under a cap: the want for `block` goes out once there is room for what it is expected to weigh. */
  private hold (session: ProviderSession, block: WantedBlock, pace: (peer: PeerId, bytes: number) => Reservation): void {
    const reservation = pace(session.peer, block.size ?? 0)
    session.inflight.set(block.key, Number.POSITIVE_INFINITY)
    session.held.set(block.key, reservation)
    void reservation.ready.then(() => {
      if (session.held.get(block.key) !== reservation) return
      session.held.delete(block.key)
      if (this.finished || this.sessions.get(session.peer.toString()) !== session || !session.inflight.has(block.key)) return
      session.reserved.set(block.key, reservation)
      // waiting for the block starts now if nothing else was out
      if (session.inflight.size - session.held.size === 1) session.lastActivityAt = Date.now()
      session.inflight.set(block.key, Date.now())
      session.released.push(block)
      if (session.released.length === 1) {
        queueMicrotask(() => {
          const blocks = session.released
          session.released = []
          if (!this.finished && this.sessions.get(session.peer.toString()) === session) this.send(session, blocks)
        })
      }
    })
  }

  /** `key` is no longer asked of `session` (or held back for it): its reservation is given back if it never went out. */
  private forget (session: ProviderSession, key: string): void {
    session.inflight.delete(key)
    // asked and never answered: what it reserved goes back too
    session.reserved.get(key)?.cancel()
    session.reserved.delete(key)
    const held = session.held.get(key)
    if (held === undefined) return
    session.held.delete(key)
    held.cancel()
  }

  private dropSession (session: ProviderSession, barren: boolean): void {
    const key = session.peer.toString()
    if (this.sessions.get(key) !== session) return
    this.sessions.delete(key)
    if (barren) this.barren.add(key)
    this.scheduler.removeSession(session)
    const sent = [...session.inflight.keys()].filter(k => !session.held.has(k))
    if (sent.length > 0) this.init.client.cancel(session.peer, sent.flatMap(k => this.scheduler.get(k)?.cid ?? []))
    for (const key of [...session.inflight.keys()]) this.forget(session, key)
    this.schedule()
  }

  private tick (): void {
    if (this.finished) return
    const now = Date.now()
    for (const session of [...this.sessions.values()]) {
      // (a silent provider is not taken for one without the content: Helia, for one, does not
      // send a block again within 5 s of sending it, say to a fetch that was just paused)
      const out = session.inflight.size - session.held.size
      const stalled = out > 0 && now - session.lastActivityAt > IPFS_SESSION_STALL_MS
      // quiet but not yet stalled: say the same wants again (see IPFS_NUDGE_MS)
      if (!stalled && out > 0 && now - session.lastActivityAt > IPFS_NUDGE_MS && now - session.lastNudgeAt > IPFS_NUDGE_MS) {
        session.lastNudgeAt = now
        const cids = [...session.inflight.keys()].filter(k => !session.held.has(k)).flatMap(k => this.scheduler.get(k)?.cid ?? [])
        this.init.client.want(session.peer, cids).catch(() => {})
      }
      for (const [key, at] of [...session.inflight]) {
        if (session.held.has(key) || (!stalled && now - at <= CHUNK_TIMEOUT_MS)) continue
        this.forget(session, key)
        const cid = this.scheduler.get(key)?.cid
        if (cid !== undefined) this.init.client.cancel(session.peer, [cid])
        // a silent provider is its own failure, not the block's
        this.scheduler.unrequest(session, key, !stalled)
      }
      if (stalled) {
        this.init.log('%p sent nothing for %d ms: asking others', session.peer, now - session.lastActivityAt)
        session.failures++
        session.backoffUntil = now + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (session.failures - 1))
        session.lastActivityAt = now
      }
    }
    const exhausted = this.scheduler.exhausted()
    if (exhausted !== undefined) {
      void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `block ${exhausted.cid.toString()} failed ${exhausted.attempts} times from every provider; progress is kept, fetch again to resume`))
      return
    }
    if (this.sessions.size > 0) this.lastSessionAt = now
    const noProviderMs = this.init.noProviderTimeoutMs ?? RESOLVE_TIMEOUT_MS
    if (this.writing === 0 && now - this.lastSessionAt > noProviderMs) {
      void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `no provider of ${this.init.tree.root.toString()} for ${Math.round(noProviderMs / 1000)} s; progress is kept, fetch again to resume`))
      return
    }
    const stallMs = this.init.stallTimeoutMs ?? STALL_TIMEOUT_MS
    // waiting for a download cap's room is not a stall: the clock starts again when the wants go out
    if ([...this.sessions.values()].some(s => s.held.size > 0)) this.lastBlockAt = now
    if (this.writing === 0 && now - this.lastBlockAt > stallMs) {
      void this.fail(new ShoalError(ErrorCode.NO_PROVIDERS, `no provider sent any of the ${this.scheduler.missing} missing block(s) of ${this.init.tree.root.toString()} in ${Math.round(stallMs / 1000)} s; progress is kept, fetch again to resume`))
      return
    }
    if (now - this.lastFlushAt >= FLUSH_INTERVAL_MS) {
      this.lastFlushAt = now
      this.init.flush().catch(err => this.fail(err))
    }
    this.schedule()
  }

  /** Done already? (a resume that found every block on disk) */
  checkDone (): void {
    this.maybeFinish()
  }

  private maybeFinish (): void {
    if (this.finished || this.writing > 0 || !this.init.tree.complete) return
    this.finished = true
    this.stop()
    this.resolve()
  }

  private async fail (err: unknown): Promise<void> {
    if (this.finished) return
    this.finished = true
    this.stop()
    this.reject(err)
  }

  private stop (): void {
    clearInterval(this.timer)
    this.init.client.remove(this)
    for (const session of this.sessions.values()) {
      const sent = [...session.inflight.keys()].filter(k => !session.held.has(k))
      if (sent.length > 0) this.init.client.cancel(session.peer, sent.flatMap(k => this.scheduler.get(k)?.cid ?? []))
      for (const key of [...session.inflight.keys()]) this.forget(session, key)
    }
    this.sessions.clear()
  }
}
