import {
  ErrorCode, MAX_XFER_FRAME_BYTES, ShoalError, XferMessage,
  chunkRange, contentIdFromBytes, decodeXfer, encodeBlockFrame, encodeXfer, frame
} from '@shoal/protocol'
import type { ComponentLogger, Logger, PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { HELLO_TIMEOUT_MS, MAX_PENDING_CHUNKS_PER_STREAM, PACK_BYTES, SEND_QUEUE_BYTES, SEND_TIMEOUT_MS, STREAM_CONCURRENCY, SUPERSEED_HOLD_MS, SUPERSEED_MIN_SWARM } from '../../constants.js'
import type { ChunkSource, SourceLookup } from '../../storage/chunk-source.js'
import { FrameInbox, abortStream, sendFrame } from '../../net/frame-io.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { PacedWriter } from './paced-writer.js'
import type { PeerExchange } from './peer-exchange.js'
import { PendingRequests } from './pending-requests.js'
import { RequestQueue } from './request-queue.js'
import type { BatchPolicy, ChunkRun } from './request-queue.js'
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
 * chunk answered with a BLOCK or NOT_FOUND, blocks never sent before going
 * first, runs of short chunks packed into one BLOCK: request-queue.ts)
 * while it tells the peer about chunks it gains (HAVE, HAVE_ALL) and others
 * fetching the same root (PEERS), until the peer ends its side and every
 * answer is out, the root stops being shared here, or the stream fails; then
 * it leaves the swarm and stops listening to the source. Limits: at most
 * MAX_PENDING_CHUNKS_PER_STREAM chunks wait and STREAM_CONCURRENCY blocks
 * are served at once, each read under one of the node's upload slots; an
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
  private readonly queue = new RequestQueue(MAX_PENDING_CHUNKS_PER_STREAM, PACK_BYTES)
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
        this.request(msg)
        break
      case XferMessage.Type.CANCEL:
        this.cancel(msg)
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

  /** Queue a request: chunks past the root's, or too many chunks queued, are a protocol error. */
  private request (msg: XferMessage): void {
    const { first, count } = chunkRange(msg, this.served.source.layout.chunkCount)
    this.queue.add(first, count)
    this.notify()
  }

  /** Drop one request of each chunk in the run, queued or waiting for room to be sent. */
  private cancel (msg: XferMessage): void {
    const { first, count } = chunkRange(msg, this.served.source.layout.chunkCount)
    // only chunks with a request queued or taken can be cancelled: visit those,
    // not the whole range (one CANCEL of a whole root cost chunks x queued runs)
    const candidates = new Set([...this.queue.queuedIn(first, count), ...this.pending.takenIn(first, count)])
    // already taken from the queue, waiting for room to be sent: drop them there
    for (const index of candidates) for (const left of this.queue.cancel(index, 1)) this.pending.cancel(left)
  }

  /**
   * Take requests in turn, up to STREAM_CONCURRENCY blocks at once (they may
   * go out in any order), until the peer has ended its side and every request
   * is answered; then close, bounded like every other write.
   */
  private async serve ({ cid }: ServedRoot): Promise<void> {
    while (true) {
      if (this.input.error !== undefined) throw this.input.error
      if (this.failure !== undefined) throw this.failure
      if (this.working.size >= STREAM_CONCURRENCY) {
        await this.sleep()
        continue
      }
      // a chunk never uploaded before goes first, so a seed spreads new pieces
      // and leechers trade the ones already out there; consecutive short
      // chunks go together (a pack, one BLOCK)
      const batch = this.queue.take(this.policy)
      if (batch === undefined) {
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
      if (!batch.servable) {
        await this.sendAndWait(encodeXfer(notFound(batch.first, batch.count)))
        continue
      }
      this.pending.takeRun(batch)
      const job = this.serveOne(batch).catch(err => { this.failure ??= err })
      this.working.add(job)
      void job.finally(() => { this.working.delete(job); this.pending.answeredRun(batch); this.notify() })
    }
    // close flushes what is queued: bounded, as for every other write
    if (this.stream.status === 'open') await this.stream.close({ signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
  }

  /** How the queue sees each chunk of the served root. */
  private readonly policy: BatchPolicy = {
    fresh: index => this.served.sent.count(index) === 0,
    servable: index => this.served.source.has(index) && !this.superseeding(index),
    packable: index => {
      const { layout } = this.served.source
      const length = layout.lengthOf(index)
      return length < layout.manifest.chunkSize ? length : undefined
    }
  }

  /** While others fetch this root too, a chunk just sent elsewhere is theirs to pass on. */
  private superseeding (index: number): boolean {
    const { cid, sent } = this.served
    return this.components.pex.swarmSize(cid) > SUPERSEED_MIN_SWARM && sent.sentElsewhereSince(index, this.peerKey, Date.now() - SUPERSEED_HOLD_MS)
  }

  /**
   * Read, verify and send one block (a chunk, or a pack of short ones): paced
   * when capped, once the gate has room when not. Chunks of the batch the
   * peer cancelled meanwhile are left out.
   */
  private async serveOne (batch: ChunkRun): Promise<void> {
    for (const run of this.pending.wanted(batch)) {
      if (this.gate === undefined) await this.servePaced(this.writer as PacedWriter, run)
      else await this.serveGated(this.gate, run)
    }
  }

  /**
   * Capped uploads: the chunk is read only when the paced writer reaches it
   * (one block per stream in memory, not one per queued request), then sent
   * in pieces as the caps allow; no upload slot is held meanwhile.
   */
  private async servePaced (writer: PacedWriter, { first, count }: ChunkRun): Promise<void> {
    await writer.run(async write => {
      if ((count === 1 && this.pending.dropped(first)) || this.stream.status !== 'open') return
      const data = await this.readUnderSlot(first, count)
      if (data === undefined) { await write(frame(encodeXfer(notFound(first, count)))); return }
      this.recordSent(first, count)
      await write(encodeBlockFrame(first, data, count), true)
      this.components.stats.onUploaded(this.peer, data.byteLength)
    })
  }

  /** Uncapped uploads: read, verify and queue one block once the stream has room; the upload slot covers only the read. */
  private async serveGated (gate: SendQueueGate, { first, count }: ChunkRun): Promise<void> {
    const { layout } = this.served.source
    const size = count === 1 ? layout.lengthOf(first) : layout.locateRange(first, count).reduce((n, loc) => n + loc.length, 0)
    await gate.reserve(size)
    try {
      // (a single chunk cancelled while waiting for room is not read at all)
      if (count === 1 && this.pending.dropped(first)) return
      const data = await this.readUnderSlot(first, count)
      if (this.stream.status !== 'open') return
      if (data === undefined) { this.sendSoon(encodeXfer(notFound(first, count))); return }
      this.recordSent(first, count)
      this.stream.send(encodeBlockFrame(first, data, count))
      this.components.stats.onUploaded(this.peer, data.byteLength)
    } finally {
      gate.release(size)
    }
  }

  private recordSent (first: number, count: number): void {
    const { sent } = this.served
    for (let i = first; i < first + count; i++) sent.record(i, this.peerKey)
  }

  /** Read and verify a run of chunks under an upload slot (held only for that); undefined when it cannot be served. */
  private async readUnderSlot (first: number, count: number): Promise<Uint8Array | undefined> {
    const { cid, source } = this.served
    const release = await this.components.slots.acquire()
    try {
      return count === 1 ? await source.readChunk(first) : await source.readChunks(first, count)
    } catch (err) {
      this.log('cannot serve chunks %d+%d of %s to %p: %e', first, count, cid, this.peer, err)
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

/** NOT_FOUND for a run of chunks (no count for one). */
function notFound (first: number, count: number): { type: XferMessage.Type, index: number, count?: number } {
  return { type: XferMessage.Type.NOT_FOUND, index: first, ...(count > 1 ? { count } : {}) }
}
