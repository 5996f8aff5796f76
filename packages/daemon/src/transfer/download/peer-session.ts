import {
  Bitfield, ErrorCode, MAX_XFER_FRAME_BYTES, ShoalError, XFER_PROTOCOL, XferMessage, decodeBlockFrame, decodeXfer, encodeXfer
} from '@shoal/protocol'
import type { CID } from '@shoal/protocol'
import type { Connection, PeerId, Stream, Logger } from '@libp2p/interface'
import {
  BACKOFF_BASE_MS, BACKOFF_MAX_MS, BREAKER_FAILURES, DEFAULT_REQUEST_WINDOW, DIAL_TIMEOUT_MS, HELLO_TIMEOUT_MS,
  MAX_REQUEST_WINDOW, MIN_REQUEST_WINDOW, RATE_MIN_SPAN_MS, RATE_SPAN_MS, WINDOW_SECONDS
} from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { FrameInbox, abortStream, sendFrame } from '../../net/frame-io.js'
import type { Reservation } from '../rate-limit.js'
import { connectionFor } from '../../net/relay-budget.js'
import type { RelayBudgets } from '../../net/relay-budget.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** What a session reports to the download that owns it. */
export interface SessionEvents {
  onBlock(session: PeerSession, index: number, data: Uint8Array | Uint8ArrayList): void
  onNotFound(session: PeerSession, index: number): void
  /** The peer gained chunk `index`, or everything ('all'). */
  onHave(session: PeerSession, index: number | 'all', previous?: Bitfield): void
  /** The peer suggests other peers fetching this root (multiaddrs ending in /p2p/<id>). */
  onPeers(session: PeerSession, addrs: string[]): void
  onClosed(session: PeerSession, err?: unknown): void
}

/** What {@link PeerSession.open} needs. */
export interface PeerSessionInit {
  node: ShoalLibp2p
  peer: PeerId
  /** The root to ask for. */
  cid: CID
  layout: { chunkCount: number, manifest: { chunkSize: number } }
  /** The download that owns the session. */
  events: SessionEvents
  /** Byte budgets of relayed connections. */
  budgets: RelayBudgets
  /** Ends the dial and the HELLO exchange. */
  signal?: AbortSignal
  /** Paces REQUESTs under a download cap; absent when downloads are not capped. */
  pace?: (peer: PeerId, bytes: number) => Reservation
}

/**
 * The downloading side of one xfer stream to one peer for one root: knows
 * what the peer holds, sends REQUESTs and CANCELs, hands BLOCKs to the
 * download, and keeps the peer's measured rate, failures and score.
 */
export class PeerSession {
  readonly peer: PeerId
  /** Chunk indexes requested and not yet answered, with the time the REQUEST went out (Infinity while a download cap holds it back). */
  readonly inflight = new Map<number, number>()
  /** Requests a download cap is holding back, not yet sent. */
  private readonly held = new Map<number, Reservation>()
  /** Paces REQUESTs under a download cap; undefined when downloads are not capped. */
  private readonly pace?: (bytes: number) => Reservation
  /** 'all' for a seed, else the chunks the peer holds. */
  holdings: 'all' | Bitfield
  /** Consecutive failures (timeouts); reset by a good block. */
  failures = 0
  /** Good blocks minus failures: sessions are asked in score order. */
  score = 0
  /** No new requests before this time (circuit breaker / backoff). */
  pausedUntil = 0
  private readonly stream: Stream
  private readonly events: SessionEvents
  private readonly chunkCount: number
  private readonly chunkSize: number
  private closed = false
  private rateBytesPerSec = 0
  /** Blocks received over the last RATE_SPAN_MS, oldest first. */
  private readonly samples: Array<{ at: number, bytes: number }> = []
  private sampledBytes = 0
  private firstRequestAt = 0
  /** Last time this peer answered anything, or we started waiting on it. */
  lastActivityAt = Date.now()
  /** Last time any bytes at all arrived from this peer (0: none yet). */
  lastBytesAt = 0
  /** Sent requests we withdrew: their blocks may still come, and are still welcome. */
  private readonly withdrawn = new Set<number>()

  /** Called when the session ended because its relayed connection's limit was used up. */
  onRetired?: () => void
  /** Called when the session ended with an error (the stream failed, the peer misbehaved, a relay cut it). */
  onFailed?: (err: unknown) => void
  /** The connection the session's stream runs on. */
  readonly connection: Connection
  private readonly budgets: RelayBudgets

  private readonly log: Logger

  private constructor (peer: PeerId, stream: Stream, connection: Connection, budgets: RelayBudgets, chunkCount: number, chunkSize: number, holdings: 'all' | Bitfield, events: SessionEvents, log: Logger, pace?: (bytes: number) => Reservation) {
    this.log = log
    if (pace !== undefined) this.pace = pace
    this.connection = connection
    this.budgets = budgets
    this.peer = peer
    this.stream = stream
    this.chunkCount = chunkCount
    this.chunkSize = chunkSize
    this.holdings = holdings
    this.events = events
  }

  /** Open a stream, say HELLO, and learn what the peer holds; undefined when it has nothing of the root. */
  static async open (init: PeerSessionInit): Promise<PeerSession | undefined> {
    const { node, peer, cid, layout, events, budgets, signal, pace } = init
    const dialSignal = signal !== undefined ? AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) : AbortSignal.timeout(DIAL_TIMEOUT_MS)
    const connection = await connectionFor(node, peer, budgets, layout.manifest.chunkSize, dialSignal)
    // relayed connections are limited: allowed, within the relay's byte budget (relay-budget.ts)
    if (budgets.remaining(connection) < layout.manifest.chunkSize) {
      // a fresh relayed connection that cannot carry one chunk (libp2p's default relays allow 128 KiB)
      throw new ShoalError(ErrorCode.DIAL_FAILED, `${peer.toString()} is reachable only through a relay that allows ${String(connection.limits?.bytes)} bytes per connection, less than one ${layout.manifest.chunkSize}-byte chunk`)
    }
    const stream = await connection.newStream(XFER_PROTOCOL, { signal: dialSignal, runOnLimitedConnection: true })
    // frames are read by event from the start; the first answers HELLO
    const inbox = new FrameInbox(stream, MAX_XFER_FRAME_BYTES)
    try {
      await sendFrame(stream, encodeXfer({ type: XferMessage.Type.HELLO, root: cid.bytes }), dialSignal)
      const first = await inbox.next(HELLO_TIMEOUT_MS, 'the answer to HELLO')
      if (first === undefined) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'peer closed the stream after HELLO')
      const msg = decodeXfer(first)
      let holdings: 'all' | Bitfield
      if (msg.type === XferMessage.Type.NOT_FOUND) {
        await stream.close().catch(() => {})
        return undefined
      } else if (msg.type === XferMessage.Type.HAVE_ALL) {
        holdings = 'all'
      } else if (msg.type === XferMessage.Type.BITFIELD) {
        holdings = bitfieldFrom(msg.data, layout.chunkCount)
      } else {
        throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `expected HAVE_ALL or BITFIELD after HELLO, got ${msg.type}`)
      }
      const session = new PeerSession(peer, stream, connection, budgets, layout.chunkCount, layout.manifest.chunkSize, holdings, events, node.logger.forComponent('shoal:xfer:session'), pace === undefined ? undefined : bytes => pace(peer, bytes))
      // any bytes at all (a big block arriving slowly) show the peer is alive
      inbox.onBytes = () => { session.lastActivityAt = session.lastBytesAt = Date.now() }
      inbox.onChange = () => { if (inbox.ended || inbox.error !== undefined) session.ended(inbox.error) }
      inbox.handler = (f) => { session.handle(f) }
      if (inbox.ended) session.ended(inbox.error)
      return session
    } catch (err) {
      abortStream(stream, err)
      throw err
    }
  }

  get isClosed (): boolean {
    return this.closed
  }

  has (index: number): boolean {
    return this.holdings === 'all' || this.holdings.has(index)
  }

  get isSeed (): boolean {
    return this.holdings === 'all'
  }

  /** Bytes per second measured over recent blocks (0 until the first). */
  get rate (): number {
    return this.rateBytesPerSec
  }

  /** Requests to keep in flight: enough for WINDOW_SECONDS at the measured rate. */
  get window (): number {
    const wanted = this.rateBytesPerSec === 0
      ? DEFAULT_REQUEST_WINDOW
      : Math.max(MIN_REQUEST_WINDOW, Math.min(MAX_REQUEST_WINDOW, Math.ceil(this.rateBytesPerSec * WINDOW_SECONDS / this.chunkSize)))
    // on a relayed connection, no more than its byte limit has room for
    const room = this.budgets.remaining(this.connection)
    return room === Number.POSITIVE_INFINITY ? wanted : Math.min(wanted, this.inflight.size + Math.floor(room / this.chunkSize))
  }

  /** On a relayed connection whose byte limit has no room for another chunk. */
  get exhausted (): boolean {
    return this.budgets.remaining(this.connection) < this.chunkSize
  }

  /** True when the circuit breaker lets us ask this peer now. */
  available (now: number): boolean {
    return !this.closed && now >= this.pausedUntil
  }

  /** A request timed out: back off exponentially; past BREAKER_FAILURES, stop asking for a while. */
  recordFailure (now: number): void {
    this.failures++
    this.score--
    if (this.failures >= BREAKER_FAILURES) {
      this.pausedUntil = now + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - BREAKER_FAILURES + 1))
      this.log('pausing %p for %d ms after %d failures', this.peer, this.pausedUntil - now, this.failures)
    }
  }

  /** Ask for chunk `index`. */
  request (index: number): void {
    if (this.closed) return
    const now = Date.now()
    if (this.firstRequestAt === 0) this.firstRequestAt = now
    this.budgets.spend(this.connection, this.chunkSize)
    if (this.pace === undefined) {
      if (this.inflight.size === 0) this.lastActivityAt = now
      this.inflight.set(index, now)
      this.sendNow(encodeXfer({ type: XferMessage.Type.REQUEST, index }))
      return
    }
    // under a download cap the REQUEST waits for room; its timeouts start when it goes out
    const reservation = this.pace(this.chunkSize)
    this.inflight.set(index, Number.POSITIVE_INFINITY)
    this.held.set(index, reservation)
    void reservation.ready.then(() => {
      if (this.held.get(index) !== reservation) return
      // waiting starts now if nothing else was out (decided before this one counts as sent)
      const idle = this.awaiting === 0
      this.held.delete(index)
      if (this.closed || !this.inflight.has(index)) return
      if (idle) this.lastActivityAt = Date.now()
      this.inflight.set(index, Date.now())
      this.sendNow(encodeXfer({ type: XferMessage.Type.REQUEST, index }))
    })
  }

  /** True while a download cap holds back some of this session's requests. */
  get holding (): boolean {
    return this.held.size > 0
  }

  /** Requests sent and not yet answered (those a download cap holds back excluded). */
  get awaiting (): number {
    return this.inflight.size - this.held.size
  }

  /** Withdraw a request (another peer delivered it, or it timed out). */
  cancel (index: number): void {
    const held = this.held.get(index)
    if (held !== undefined) {
      // never sent: give its room back, nothing to tell the peer
      this.held.delete(index)
      held.cancel()
      this.budgets.spend(this.connection, -this.chunkSize)
      this.inflight.delete(index)
      return
    }
    if (!this.inflight.delete(index) || this.closed) return
    this.withdrawn.add(index)
    this.sendNow(encodeXfer({ type: XferMessage.Type.CANCEL, index }))
    this.retireSoon()
  }

  /** Close gracefully (done) or abort with a reason (misbehaving peer). */
  close (err?: unknown): void {
    if (this.closed) return
    this.closed = true
    for (const r of this.held.values()) r.cancel()
    this.held.clear()
    if (err !== undefined) abortStream(this.stream, err)
    else this.stream.close().catch(e => { abortStream(this.stream, e) })
    this.events.onClosed(this, err)
    if (err !== undefined) this.onFailed?.(err)
  }

  private sendNow (bytes: Uint8Array): void {
    // requests are tiny and bounded by the request window, so we never wait for drain here
    sendFrame(this.stream, bytes).catch(err => { this.close(err) })
  }

  /**
   * The rate is bytes received over the last RATE_SPAN_MS (or since the first
   * request, if sooner), not the gap between two blocks: blocks arrive in
   * bursts, and one burst must not make a slow peer look fast and take every
   * request of the download.
   */
  private measure (bytes: number): void {
    const now = Date.now()
    this.samples.push({ at: now, bytes })
    this.sampledBytes += bytes
    while ((this.samples[0]?.at ?? now) < now - RATE_SPAN_MS) this.sampledBytes -= this.samples.shift()?.bytes ?? 0
    const since = Math.max(this.firstRequestAt, now - RATE_SPAN_MS)
    this.rateBytesPerSec = this.sampledBytes / (Math.max(RATE_MIN_SPAN_MS, now - since) / 1000)
    this.failures = 0
    this.score++
  }

  /** One frame from the peer. */
  private handle (bytes: Uint8Array | Uint8ArrayList): void {
    if (this.closed) return
    try {
      this.lastActivityAt = Date.now()
      // blocks are most of the traffic: read them in place, without joining their pieces
      const block = bytes instanceof Uint8Array ? undefined : decodeBlockFrame(bytes)
      if (block !== undefined) {
        if (block.index >= this.chunkCount) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `BLOCK for chunk ${block.index} out of range`)
        if (this.inflight.delete(block.index) || this.withdrawn.delete(block.index)) {
          // a withdrawn request's block came anyway (it was on its way): the download takes it if still missing
          this.measure(block.data.byteLength)
          this.events.onBlock(this, block.index, block.data)
        }
        this.retireIfExhausted()
        return
      }
      const msg = decodeXfer(bytes)
      const index = msg.index
      switch (msg.type) {
        case XferMessage.Type.BLOCK:
        case XferMessage.Type.NOT_FOUND:
          if (index === undefined || index >= this.chunkCount) {
            throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `${msg.type} for chunk ${String(index)} out of range`)
          }
          if (!this.inflight.delete(index)) {
            // a withdrawn request's block is still welcome; anything else unasked is ignored
            if (msg.type === XferMessage.Type.BLOCK && this.withdrawn.delete(index)) this.events.onBlock(this, index, msg.data)
            else this.withdrawn.delete(index)
            break
          }
          if (msg.type === XferMessage.Type.BLOCK) {
            this.measure(msg.data.byteLength)
            this.events.onBlock(this, index, msg.data)
          } else {
            this.events.onNotFound(this, index)
            this.retireSoon()
          }
          break
        case XferMessage.Type.HAVE:
          if (index === undefined || index >= this.chunkCount) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `HAVE for chunk ${String(index)} out of range`)
          if (this.holdings !== 'all' && this.holdings.set(index)) this.events.onHave(this, index)
          break
        case XferMessage.Type.HAVE_ALL:
          if (this.holdings !== 'all') {
            const previous = this.holdings
            this.holdings = 'all'
            this.events.onHave(this, 'all', previous)
          }
          break
        case XferMessage.Type.PEERS:
          this.events.onPeers(this, msg.peers)
          break
        case XferMessage.Type.ERROR:
          throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer reported: ${msg.message.slice(0, 200)}`)
        default:
          throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `unexpected ${msg.type} from the serving side`)
      }
    } catch (err) {
      this.log('session with %p failed: %e', this.peer, err)
      this.close(err)
    }
  }

  /** retireIfExhausted, but not from inside the download's own loops over its sessions. */
  private retireSoon (): void {
    queueMicrotask(() => { this.retireIfExhausted() })
  }

  /**
   * A relayed connection used up: once its last chunk is in, end the session
   * and let the connection go before the relay resets it; the fetcher's next
   * search opens a new circuit or finds a direct connection.
   */
  private retireIfExhausted (): void {
    if (this.closed || this.inflight.size > 0 || !this.exhausted) return
    this.log('relayed connection to %p has used its byte limit: closing it', this.peer)
    this.close()
    this.connection.close().catch(err => { this.connection.abort(err) })
    this.onRetired?.()
  }

  /** The stream ended (cleanly, or with an error). */
  private ended (err?: unknown): void {
    if (err !== undefined) this.log('session with %p ended: %e', this.peer, err)
    this.close(err)
  }
}

function bitfieldFrom (bytes: Uint8Array, chunkCount: number): Bitfield {
  try {
    return new Bitfield(chunkCount, bytes)
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `BITFIELD of ${bytes.byteLength} bytes for ${chunkCount} chunks`, { cause: err })
  }
}
