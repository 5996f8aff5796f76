import {
  ErrorCode, MAX_XFER_FRAME_BYTES, ShoalError, XferMessage,
  contentIdFromBytes, decodeXfer, encodeBlockFrame, encodeXfer, frame
} from '@shoal/protocol'
import type { ComponentLogger, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { HELLO_TIMEOUT_MS, MAX_PENDING_REQUESTS_PER_STREAM, SEND_QUEUE_BYTES, SEND_TIMEOUT_MS, STREAM_CONCURRENCY, SUPERSEED_HOLD_MS, SUPERSEED_MIN_SWARM } from '../../constants.js'
import type { ChunkSource, SourceLookup } from '../../storage/chunk-source.js'
import { FrameInbox, abortStream, sendFrame } from '../../net/frame-io.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { PacedWriter } from './paced-writer.js'
import type { PeerExchange } from './peer-exchange.js'
import { PendingRequests } from './pending-requests.js'
import { SendQueueGate } from './send-queue.js'
import type { SentLog, SentTracker } from './sent-tracker.js'
import type { Slots } from '../../slots.js'

/** Counts what the upload side sends. */
export interface UploadStats {
  onUploaded(peer: PeerId, bytes: number): void
}

/** What an upload stream uses, shared by every stream the node serves. */
export interface UploadStreamComponents {
  /** The source serving a root, if any. */
  lookup: SourceLookup
  stats: UploadStats
  /** The node's upload slots: every chunk read waits in line for one. */
  slots: Pick<Slots, 'acquire'>
  /** Peer exchange, and how many peers fetch a root from us (super-seeding). */
  pex: Pick<PeerExchange, 'join' | 'swarmSize'>
  /** What was uploaded when and to whom, per root and chunk. */
  sentTracker: Pick<SentTracker, 'of'>
  /** Bandwidth caps on uploads (global and per peer). */
  limiter: Pick<BandwidthLimiter, 'limitsUpload' | 'upload'>
  logger: ComponentLogger
}

/** The root a HELLO asked for, once we know we serve it. */
interface ServedRoot {
  cid: string
  source: ChunkSource
  /** Uploads of this root's chunks, to this peer and others. */
  sent: SentLog
}

/**
 * The upload side of one xfer stream: one peer fetching the chunks of one
 * root from us. It lives from the peer's HELLO (answered with HAVE_ALL or
 * BITFIELD, or NOT_FOUND and a close) through the peer's REQUESTs (each
 * answered with BLOCK or NOT_FOUND, blocks never sent before going first)
 * while it tells the peer about chunks it gains (HAVE, HAVE_ALL) and others
 * fetching the same root (PEERS), until the peer ends its side and every
 * answer is out, the root stops being shared here, or the stream fails; then
 * it leaves the swarm and stops listening to the source. Limits: at most
 * MAX_PENDING_REQUESTS_PER_STREAM requests wait and STREAM_CONCURRENCY are
 * served at once, each chunk read under one of the node's upload slots; an
 * uncapped stream reads a block only when its SendQueueGate has room and
 * cuts off a peer that reads nothing for SEND_TIMEOUT_MS, a capped one sends
 * every frame through one PacedWriter. `run` rejects with what ended the
 * stream; `fail` then tells the peer why and resets it.
 */
export class UploadStream {
  private readonly log: Logger
  private readonly input: FrameInbox
  private readonly peerKey: string
  /** Set by the HELLO, when it names a root served here. */
  private root?: ServedRoot
  /** Requests waiting to be served, in arrival order. */
  private readonly queue: number[] = []
  /** Requests taken from the queue and not yet answered, and cancels for them. */
  private readonly pending = new PendingRequests()
  /** Blocks being read and sent, at most STREAM_CONCURRENCY. */
  private readonly working = new Set<Promise<void>>()
  /** Why serving a block failed: ends the serve loop. */
  private failure: unknown
  /** Resumes the serve loop when it waits. */
  private wake?: () => void
  /** Capped uploads: every frame goes through it. */
  private writer?: PacedWriter
  /** Uncapped uploads: bounds what waits to go out on the stream. */
  private gate?: SendQueueGate
  /** Undo the swarm membership and the source subscription. */
  private readonly cleanups: Array<() => void> = []

  constructor (
    private readonly stream: Stream,
    private readonly peer: PeerId,
    private readonly components: UploadStreamComponents
  ) {
    this.log = components.logger.forComponent('shoal:xfer:server')
    this.input = new FrameInbox(stream, MAX_XFER_FRAME_BYTES)
    this.peerKey = peer.toString()
  }

  /** True when frames go through a PacedWriter: nothing may be written to the stream directly. */
  get paced (): boolean {
    return this.writer !== undefined
  }

  /** Serve the stream to its end; rejects with what ended it (then call `fail`). */
  async run (): Promise<void> {
    const root = await this.acceptHello()
    if (root === undefined) return
    this.root = root
    try {
      await this.announceHoldings(root)
      this.input.handler = bytes => { this.onFrame(bytes) }
      this.input.onChange = () => { this.notify() }
      // uncapped: a block is read only when the stream's queue has room for it;
      // a peer that reads nothing for SEND_TIMEOUT_MS is cut off
      if (this.writer === undefined) {
        this.gate = new SendQueueGate(this.stream, SEND_QUEUE_BYTES, SEND_TIMEOUT_MS, err => { this.failure ??= err; abortStream(this.stream, err); this.notify() })
      }
      await this.serve(root)
    } finally {
      this.teardown()
    }
  }

  /** The stream ended with `err`: tell a misbehaving peer why (best effort), then reset. */
  fail (err: unknown): void {
    this.log('xfer stream from %p ended: %e', this.peer, err)
    // (not on a paced stream: the ERROR could land inside a block going out in pieces)
    if (err instanceof ShoalError && this.stream.status === 'open' && !this.paced) {
      try { this.stream.send(frame(encodeXfer({ type: XferMessage.Type.ERROR, message: err.message.slice(0, 200) }))) } catch { /* the stream is going away anyway */ }
    }
    abortStream(this.stream, err)
  }

  /** Read the HELLO; the root it names when served here, else undefined (answered and closed). */
  private async acceptHello (): Promise<ServedRoot | undefined> {
    const first = await this.input.next(HELLO_TIMEOUT_MS, 'HELLO')
    if (first === undefined) {
      // the peer closed without a HELLO: close ours too, or it waits for the inactivity timeout
      await this.stream.close({ signal: AbortSignal.timeout(SEND_TIMEOUT_MS) }).catch(err => { abortStream(this.stream, err) })
      return undefined
    }
    const hello = decodeXfer(first)
    if (hello.type !== XferMessage.Type.HELLO) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `expected HELLO, got ${hello.type}`)
    const cid = contentIdFromBytes(hello.root).toString()
    const source = this.components.lookup(cid)
    if (source === undefined) {
      await sendFrame(this.stream, encodeXfer({ type: XferMessage.Type.NOT_FOUND }), AbortSignal.timeout(SEND_TIMEOUT_MS))
      await this.stream.close({ signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
      return undefined
    }
    return { cid, source, sent: this.components.sentTracker.of(cid, source.layout.chunkCount) }
  }

  /**
   * Tell the peer what we hold, then join the root's swarm (PEERS) and follow
   * the source (HAVE, HAVE_ALL) until teardown.
   */
  private async announceHoldings ({ cid, source }: ServedRoot): Promise<void> {
    const holdings = source.holdings()
    // (sendFrame hands the frame to the stream before it returns: what follows goes after it)
    const announced = sendFrame(this.stream, holdings === 'all'
      ? encodeXfer({ type: XferMessage.Type.HAVE_ALL })
      : encodeXfer({ type: XferMessage.Type.BITFIELD, data: holdings.bytes }))
    // with an upload cap every frame goes through one paced writer (pieces of
    // a block must not interleave with other frames); without, straight to the stream
    const { limiter } = this.components
    if (limiter.limitsUpload) this.writer = new PacedWriter(this.stream, n => limiter.upload(this.peer, n), SEND_TIMEOUT_MS)
    // follow the source from that snapshot on, before anything awaits: a chunk
    // gained meanwhile would otherwise never be announced
    this.cleanups.push(source.subscribe(gained => { this.notifyGained(gained) }))
    await announced
    this.cleanups.push(await this.components.pex.join(cid, this.peer, peers => { this.notifyPeers(peers) }))
  }

  /** Peer exchange: others fetch this root from us too. */
  private notifyPeers (peers: string[]): void {
    if (this.stream.status !== 'open') return
    try {
      this.sendSoon(encodeXfer({ type: XferMessage.Type.PEERS, peers }))
    } catch (err) {
      this.log('cannot send peers to %p: %e', this.peer, err)
    }
  }

  /** A partial holder tells the peer about every chunk it gains. */
  private notifyGained (gained: number | 'all'): void {
    if (this.stream.status !== 'open') return
    try {
      this.sendSoon(gained === 'all' ? encodeXfer({ type: XferMessage.Type.HAVE_ALL }) : encodeXfer({ type: XferMessage.Type.HAVE, index: gained }))
    } catch (err) {
      this.log('cannot tell %p about chunk %s: %e', this.peer, gained, err)
    }
  }

  /** One frame from the peer; throwing ends the stream with that error. */
  private onFrame (bytes: Uint8ArrayList): void {
    const msg = decodeXfer(bytes)
    switch (msg.type) {
      case XferMessage.Type.REQUEST:
        this.request(msg.index as number)
        break
      case XferMessage.Type.CANCEL:
        this.cancel(msg.index as number)
        break
      case XferMessage.Type.HAVE:
      case XferMessage.Type.HAVE_ALL:
      case XferMessage.Type.BITFIELD:
        break // the opener's holdings: it opens its own stream to us to serve them
      case XferMessage.Type.ERROR:
        throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer reported: ${msg.message.slice(0, 200)}`)
      default:
        throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `unexpected ${msg.type} from the requesting side`)
    }
  }

  /** Queue a request: an index past the root's chunks, or one request too many, is a protocol error. */
  private request (index: number): void {
    const { cid, source } = this.served
    if (index >= source.layout.chunkCount) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `request for chunk ${index}, but ${cid} has ${source.layout.chunkCount}`)
    }
    if (this.queue.length >= MAX_PENDING_REQUESTS_PER_STREAM) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `more than ${MAX_PENDING_REQUESTS_PER_STREAM} requests pending`)
    }
    this.queue.push(index)
    this.notify()
  }

  /** Drop one request of chunk `index`, queued or waiting for room to be sent. */
  private cancel (index: number): void {
    const at = this.queue.indexOf(index)
    if (at >= 0) this.queue.splice(at, 1)
    // already taken from the queue, waiting for room to be sent: drop it there
    else this.pending.cancel(index)
  }

  /**
   * Take requests in turn, up to STREAM_CONCURRENCY blocks at once (they may
   * go out in any order), until the peer has ended its side and every request
   * is answered; then close, bounded like every other write.
   */
  private async serve ({ cid, source }: ServedRoot): Promise<void> {
    while (true) {
      if (this.input.error !== undefined) throw this.input.error
      if (this.failure !== undefined) throw this.failure
      if (this.working.size >= STREAM_CONCURRENCY) {
        await this.sleep()
        continue
      }
      const index = this.takeNext()
      if (index === undefined) {
        if (this.input.ended && this.working.size === 0) break
        await this.sleep()
        continue
      }
      if (this.components.lookup(cid) === undefined) {
        // unshared, or its file changed on disk: say so, so the peer looks elsewhere
        await this.sendAndWait(encodeXfer({ type: XferMessage.Type.ERROR, message: 'no longer shared here' }))
        await this.stream.close({ signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
        return
      }
      if (!source.has(index) || this.superseeding(index)) {
        await this.sendAndWait(encodeXfer({ type: XferMessage.Type.NOT_FOUND, index }))
        continue
      }
      this.pending.take(index)
      const job = this.serveOne(index).catch(err => { this.failure ??= err })
      this.working.add(job)
      void job.finally(() => { this.working.delete(job); this.pending.answered(index); this.notify() })
    }
    // close flushes what is queued: bounded, as for every other write
    if (this.stream.status === 'open') await this.stream.close({ signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
  }

  /**
   * The next request to serve: a chunk never uploaded before goes first, so a
   * seed spreads new pieces and leechers trade the ones already out there.
   */
  private takeNext (): number | undefined {
    const { sent } = this.served
    const fresh = this.queue.findIndex(i => sent.count(i) === 0)
    const at = fresh >= 0 ? fresh : 0
    return this.queue.length === 0 ? undefined : this.queue.splice(at, 1)[0]
  }

  /** While others fetch this root too, a chunk just sent elsewhere is theirs to pass on. */
  private superseeding (index: number): boolean {
    const { cid, sent } = this.served
    return this.components.pex.swarmSize(cid) > SUPERSEED_MIN_SWARM && sent.sentElsewhereSince(index, this.peerKey, Date.now() - SUPERSEED_HOLD_MS)
  }

  /** Read, verify and send one block: paced when capped, once the gate has room when not. */
  private async serveOne (index: number): Promise<void> {
    if (this.gate === undefined) await this.servePaced(this.writer as PacedWriter, index)
    else await this.serveGated(this.gate, index)
  }

  /**
   * Capped uploads: the chunk is read only when the paced writer reaches it
   * (one block per stream in memory, not one per queued request), then sent
   * in pieces as the caps allow; no upload slot is held meanwhile.
   */
  private async servePaced (writer: PacedWriter, index: number): Promise<void> {
    const { sent } = this.served
    await writer.run(async write => {
      if (this.pending.dropped(index) || this.stream.status !== 'open') return
      const data = await this.readUnderSlot(index)
      if (data === undefined) { await write(frame(encodeXfer({ type: XferMessage.Type.NOT_FOUND, index }))); return }
      sent.record(index, this.peerKey)
      await write(encodeBlockFrame(index, data), true)
      this.components.stats.onUploaded(this.peer, data.byteLength)
    })
  }

  /** Uncapped uploads: read, verify and queue one block once the stream has room; the upload slot covers only the read. */
  private async serveGated (gate: SendQueueGate, index: number): Promise<void> {
    const { source, sent } = this.served
    if (this.pending.dropped(index)) return
    const size = source.layout.locate(index).length
    await gate.reserve(size)
    try {
      if (this.pending.dropped(index)) return
      const data = await this.readUnderSlot(index)
      if (this.stream.status !== 'open') return
      if (data === undefined) { this.sendSoon(encodeXfer({ type: XferMessage.Type.NOT_FOUND, index })); return }
      sent.record(index, this.peerKey)
      this.stream.send(encodeBlockFrame(index, data))
      this.components.stats.onUploaded(this.peer, data.byteLength)
    } finally {
      gate.release(size)
    }
  }

  /** Read and verify one chunk under an upload slot (held only for that); undefined when it cannot be served. */
  private async readUnderSlot (index: number): Promise<Uint8Array | undefined> {
    const { cid, source } = this.served
    const release = await this.components.slots.acquire()
    try {
      return await source.readChunk(index)
    } catch (err) {
      this.log('cannot serve chunk %d of %s to %p: %e', index, cid, this.peer, err)
      return undefined
    } finally {
      release()
    }
  }

  /** Queue a small frame without waiting for the peer's window. */
  private sendSoon (bytes: Uint8Array): void {
    if (this.writer === undefined) this.stream.send(frame(bytes))
    else this.writer.write(frame(bytes)).catch(err => { this.log('cannot send to %p: %e', this.peer, err) })
  }

  /** Send a small frame and wait until the stream took it (bounded by SEND_TIMEOUT_MS). */
  private async sendAndWait (bytes: Uint8Array): Promise<void> {
    if (this.writer === undefined) await sendFrame(this.stream, bytes, AbortSignal.timeout(SEND_TIMEOUT_MS))
    else await this.writer.write(frame(bytes))
  }

  /** Wait for the serve loop's next event: a request, a block done, the input ending or failing. */
  private async sleep (): Promise<void> {
    await new Promise<void>(resolve => { this.wake = resolve })
  }

  private notify (): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  /** The root from the HELLO; only used after `acceptHello` found it. */
  private get served (): ServedRoot {
    if (this.root === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'upload stream used before its HELLO')
    return this.root
  }

  /** Stop the gate's watchdog, leave the swarm, stop following the source. */
  private teardown (): void {
    this.gate?.close()
    for (const undo of this.cleanups.splice(0).reverse()) undo()
  }
}
