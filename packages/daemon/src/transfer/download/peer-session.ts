import {
  Bitfield, ErrorCode, MAX_XFER_FRAME_BYTES, ShoalError, XFER_PROTOCOL, XferMessage, chunkRange, decodeBlockFrame, decodeXfer
} from '@shoal/protocol'
import type { CID, ChunkLayout } from '@shoal/protocol'
import type { Connection, PeerId, Stream, Logger } from '@libp2p/interface'
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, BREAKER_FAILURES, DIAL_TIMEOUT_MS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { FrameInbox, abortStream } from '../../net/frame-io.js'
import type { Reservation } from '../rate-limit.js'
import { connectionFor } from '../../net/relay-budget.js'
import type { RelayBudgets } from '../../net/relay-budget.js'
import { Uint8ArrayList } from 'uint8arraylist'
import { PeerRate } from './peer-rate.js'
import { RequestOutbox } from './request-outbox.js'
import { sayHello } from './session-hello.js'

/** One chunk of a BLOCK: its index and its bytes (a view of what arrived). */
export interface ReceivedChunk {
  index: number
  data: Uint8Array | Uint8ArrayList
}

/** What a session reports to the download that owns it. */
export interface SessionEvents {
  /** The chunks of one BLOCK (one, or a pack) that this session asked for, or withdrew and is still glad of. */
  onBlocks(session: PeerSession, blocks: ReceivedChunk[]): void
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
  layout: ChunkLayout
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
 * what the peer holds, sends REQUESTs and CANCELs (those of one turn of the
 * event loop in one write: request-outbox.ts), hands each chunk of a BLOCK
 * (one, or a pack of short ones) to the download, and keeps the peer's
 * measured rate, request window in bytes, failures and score.
 */
export class PeerSession {
  readonly peer: PeerId
  /** Chunk indexes requested and not yet answered, with the time the REQUEST went out (Infinity while a download cap holds it back). */
  readonly inflight = new Map<number, number>()
  /** Bytes of the chunks in `inflight`. */
  inflightBytes = 0
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
  private readonly layout: ChunkLayout
  private readonly chunkSize: number
  private readonly outbox: RequestOutbox
  private closed = false
  private readonly measured = new PeerRate()
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

  private constructor (peer: PeerId, stream: Stream, connection: Connection, budgets: RelayBudgets, layout: ChunkLayout, holdings: 'all' | Bitfield, events: SessionEvents, log: Logger, pace?: (bytes: number) => Reservation) {
    this.log = log
    if (pace !== undefined) this.pace = pace
    this.connection = connection
    this.budgets = budgets
    this.peer = peer
    this.stream = stream
    this.layout = layout
    this.chunkSize = layout.manifest.chunkSize
    this.holdings = holdings
    this.events = events
    // short chunks are asked for in ranges; full ones one REQUEST each
    this.outbox = new RequestOutbox(frames => { this.sendFrames(frames) }, index => layout.lengthOf(index) < this.chunkSize)
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
      const holdings = await sayHello(stream, inbox, cid, layout.chunkCount, dialSignal)
      if (holdings === undefined) return undefined
      const session = new PeerSession(peer, stream, connection, budgets, layout, holdings, events, node.logger.forComponent('shoal:xfer:session'), pace === undefined ? undefined : bytes => pace(peer, bytes))
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
    return this.measured.bytesPerSec
  }

  /** Bytes of requests to keep in flight, from the measured rate (PeerRate.windowBytes). */
  get windowBytes (): number {
    const wanted = this.measured.windowBytes(this.chunkSize)
    // on a relayed connection, no more than its byte limit has room for
    const room = this.budgets.remaining(this.connection)
    return room === Number.POSITIVE_INFINITY ? wanted : Math.min(wanted, this.inflightBytes + room)
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

  /** Ask for chunk `index` (sent at the end of this turn, with the others: RequestOutbox). */
  request (index: number): void {
    if (this.closed) return
    const now = Date.now()
    this.measured.requested(now)
    const length = this.layout.lengthOf(index)
    this.budgets.spend(this.connection, length)
    this.inflightBytes += length
    if (this.pace === undefined) {
      if (this.inflight.size === 0) this.lastActivityAt = now
      this.inflight.set(index, now)
      this.outbox.request(index)
      return
    }
    // under a download cap the REQUEST waits for room; its timeouts start when it goes out
    const reservation = this.pace(length)
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
      this.outbox.request(index)
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
      this.budgets.spend(this.connection, -this.layout.lengthOf(index))
      this.settle(index)
      return
    }
    if (!this.settle(index) || this.closed) return
    this.withdrawn.add(index)
    this.outbox.cancel(index)
    this.retireSoon()
  }

  /** Chunk `index` is no longer in flight (answered or withdrawn); false when it was not. */
  private settle (index: number): boolean {
    if (!this.inflight.delete(index)) return false
    this.inflightBytes -= this.layout.lengthOf(index)
    return true
  }

  /** Close gracefully (done) or abort with a reason (misbehaving peer). */
  close (err?: unknown): void {
    if (this.closed) return
    this.closed = true
    this.outbox.clear()
    for (const r of this.held.values()) r.cancel()
    this.held.clear()
    if (err !== undefined) abortStream(this.stream, err)
    else this.stream.close().catch(e => { abortStream(this.stream, e) })
    this.events.onClosed(this, err)
    if (err !== undefined) this.onFailed?.(err)
  }

  private sendFrames (frames: Uint8ArrayList): void {
    if (this.closed) return
    try {
      if (this.stream.status !== 'open') throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed')
      // requests are tiny and bounded by the request window, so we never wait for drain here
      this.stream.send(frames)
    } catch (err) {
      this.close(err)
    }
  }

  /** One frame from the peer. */
  private handle (bytes: Uint8Array | Uint8ArrayList): void {
    if (this.closed) return
    try {
      this.lastActivityAt = Date.now()
      // blocks are most of the traffic: read them in place, without joining their pieces
      const block = bytes instanceof Uint8Array ? undefined : decodeBlockFrame(bytes)
      if (block !== undefined) {
        this.received(block.index, block.count, block.data)
        this.retireIfExhausted()
        return
      }
      const msg = decodeXfer(bytes)
      switch (msg.type) {
        case XferMessage.Type.BLOCK:
          this.received(msg.index as number, msg.count ?? 1, msg.data)
          break
        case XferMessage.Type.NOT_FOUND: {
          const { first, count } = chunkRange(msg, this.layout.chunkCount)
          for (let index = first; index < first + count; index++) {
            // an answer to a withdrawn request is ignored
            if (this.settle(index)) this.events.onNotFound(this, index)
            else this.withdrawn.delete(index)
          }
          this.retireSoon()
          break
        }
        case XferMessage.Type.HAVE: {
          const { first, count } = chunkRange(msg, this.layout.chunkCount)
          for (let index = first; index < first + count; index++) {
            if (this.holdings !== 'all' && this.holdings.set(index)) this.events.onHave(this, index)
          }
          break
        }
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

  /**
   * A BLOCK of chunks `first` .. `first + count - 1` (one, or a pack of short
   * ones, their bytes one after another): each chunk still wanted goes to the
   * download. A withdrawn request's block came anyway (it was on its way):
   * the download takes it if still missing; chunks never asked for are ignored.
   */
  private received (first: number, count: number, data: Uint8Array | Uint8ArrayList): void {
    const locs = this.layout.locateRange(first, count)
    let total = 0
    for (const loc of locs) total += loc.length
    if (count > 1 && total !== data.byteLength) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `BLOCK of chunks ${first}+${count} holds ${data.byteLength} bytes, not ${total}`)
    this.measured.received(data.byteLength)
    this.failures = 0
    this.score++
    if (count === 1) {
      if (this.settle(first) || this.withdrawn.delete(first)) this.events.onBlocks(this, [{ index: first, data }])
      return
    }
    // a pack: short chunks, each a view of the frame (copied only when it spans two pieces)
    const list = data instanceof Uint8Array ? new Uint8ArrayList(data) : data
    const chunks: ReceivedChunk[] = []
    let at = 0
    for (const loc of locs) {
      if (this.settle(loc.index) || this.withdrawn.delete(loc.index)) chunks.push({ index: loc.index, data: list.subarray(at, at + loc.length) })
      at += loc.length
    }
    if (chunks.length > 0) this.events.onBlocks(this, chunks)
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
