import { logger } from '@libp2p/logger'
import {
  ErrorCode, MAX_XFER_FRAME_BYTES, ShoalError, XFER_PROTOCOL, XferMessage,
  contentIdFromBytes, decodeXfer, encodeBlockFrame, encodeXfer, frame
} from '@shoal/protocol'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { HELLO_TIMEOUT_MS, MAX_INBOUND_XFER_STREAMS, MAX_PENDING_REQUESTS_PER_STREAM, SEND_QUEUE_BYTES, SEND_TIMEOUT_MS, STREAM_CONCURRENCY, SUPERSEED_HOLD_MS, SUPERSEED_MIN_SWARM } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import type { SourceLookup } from '../../storage/chunk-source.js'
import type { SentTracker } from './sent-tracker.js'
import { FrameInbox, abortStream, sendFrame } from '../../net/frame-io.js'
import type { PeerExchange } from './peer-exchange.js'
import type { UploadSlots } from './upload-slots.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { PacedWriter } from './paced-writer.js'
import { SendQueueGate } from './send-queue.js'
import { PendingRequests } from './pending-requests.js'

const log = logger('shoal:xfer:server')

/** Counts what the upload side sends. */
export interface UploadStats {
  onUploaded(peer: PeerId, bytes: number): void
}

/** Serve chunks of whatever `lookup` finds over /shoal/xfer/1.0.0. */
export interface XferServerComponents {
  lookup: SourceLookup
  stats: UploadStats
  slots: UploadSlots
  pex: PeerExchange
  sentTracker: SentTracker
  /** Bandwidth caps on uploads (global and per peer). */
  limiter: BandwidthLimiter
}

/**
 * The next request to serve: a chunk never uploaded before goes first, so a
 * seed spreads new pieces and leechers trade the ones already out there.
 */
function takeNext (queue: number[], sent: { count(index: number): number }): number | undefined {
  const fresh = queue.findIndex(i => sent.count(i) === 0)
  const at = fresh >= 0 ? fresh : 0
  return queue.length === 0 ? undefined : queue.splice(at, 1)[0]
}

/** Streams whose frames go through a PacedWriter: nothing may be written to them directly. */
const pacedStreams = new WeakSet<Stream>()

export async function registerXferProtocol (node: ShoalLibp2p, components: XferServerComponents): Promise<void> {
  await node.handle(XFER_PROTOCOL, (stream: Stream, connection: Connection) => {
    serveXfer(stream, connection.remotePeer, components).catch(err => {
      log('xfer stream from %p ended: %e', connection.remotePeer, err)
      // (not on a paced stream: the ERROR could land inside a block going out in pieces)
      if (err instanceof ShoalError && stream.status === 'open' && !pacedStreams.has(stream)) {
        // tell a misbehaving peer why before resetting (best effort)
        try { stream.send(frame(encodeXfer({ type: XferMessage.Type.ERROR, message: err.message.slice(0, 200) }))) } catch { /* the stream is going away anyway */ }
      }
      abortStream(stream, err)
    })
  }, { maxInboundStreams: MAX_INBOUND_XFER_STREAMS, runOnLimitedConnection: true })
}

/**
 * One xfer stream: HELLO → HAVE_ALL/BITFIELD (or NOT_FOUND), then REQUESTs
 * answered with BLOCK or NOT_FOUND, up to STREAM_CONCURRENCY at once (blocks
 * may go out in any order). At most MAX_PENDING_REQUESTS_PER_STREAM requests
 * may wait; more is a protocol error.
 */
async function serveXfer (stream: Stream, peer: PeerId, { lookup, stats, slots, pex, sentTracker, limiter }: XferServerComponents): Promise<void> {
  const input = new FrameInbox(stream, MAX_XFER_FRAME_BYTES)
  const first = await input.next(HELLO_TIMEOUT_MS, 'HELLO')
  if (first === undefined) {
    // the peer closed without a HELLO: close ours too, or it waits for the inactivity timeout
    await stream.close().catch(err => { abortStream(stream, err) })
    return
  }
  const hello = decodeXfer(first)
  if (hello.type !== XferMessage.Type.HELLO) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `expected HELLO, got ${hello.type}`)
  const cid = contentIdFromBytes(hello.root).toString()
  const source = lookup(cid)
  if (source === undefined) {
    await sendFrame(stream, encodeXfer({ type: XferMessage.Type.NOT_FOUND }))
    await stream.close()
    return
  }
  const holdings = source.holdings()
  await sendFrame(stream, holdings === 'all'
    ? encodeXfer({ type: XferMessage.Type.HAVE_ALL })
    : encodeXfer({ type: XferMessage.Type.BITFIELD, data: holdings.bytes }))
  // with an upload cap every frame goes through one paced writer (pieces of
  // a block must not interleave with other frames); without, straight to the stream
  const writer = limiter.limitsUpload ? new PacedWriter(stream, n => limiter.upload(peer, n), SEND_TIMEOUT_MS) : undefined
  if (writer !== undefined) pacedStreams.add(stream)
  const sendSoon = (bytes: Uint8Array): void => {
    if (writer === undefined) stream.send(frame(bytes))
    else writer.write(frame(bytes)).catch(err => { log('cannot send to %p: %e', peer, err) })
  }
  const sendAndWait = async (bytes: Uint8Array): Promise<void> => {
    if (writer === undefined) await sendFrame(stream, bytes, AbortSignal.timeout(SEND_TIMEOUT_MS))
    else await writer.write(frame(bytes))
  }
  // peer exchange: whoever else fetches this root from us
  const leave = await pex.join(cid, peer, peers => {
    if (stream.status !== 'open') return
    try {
      sendSoon(encodeXfer({ type: XferMessage.Type.PEERS, peers }))
    } catch (err) {
      log('cannot send peers to %p: %e', peer, err)
    }
  })
  // a partial holder tells the peer about every chunk it gains
  const unsubscribe = source.subscribe(gained => {
    if (stream.status !== 'open') return
    try {
      sendSoon(gained === 'all' ? encodeXfer({ type: XferMessage.Type.HAVE_ALL }) : encodeXfer({ type: XferMessage.Type.HAVE, index: gained }))
    } catch (err) {
      log('cannot tell %p about chunk %s: %e', peer, gained, err)
    }
  })

  const queue: number[] = []
  /** Requests taken from the queue and not yet answered, and cancels for them. */
  const pending = new PendingRequests()
  const sent = sentTracker.of(cid, source.layout.chunkCount)
  const peerKey = peer.toString()
  // while others fetch this root too, a chunk just sent elsewhere is theirs to pass on
  const superseeding = (index: number): boolean =>
    pex.swarmSize(cid) > SUPERSEED_MIN_SWARM && sent.sentElsewhereSince(index, peerKey, Date.now() - SUPERSEED_HOLD_MS)
  let wake: (() => void) | undefined
  const notify = (): void => { const w = wake; wake = undefined; w?.() }
  input.handler = (bytes) => {
    const msg = decodeXfer(bytes)
    switch (msg.type) {
      case XferMessage.Type.REQUEST: {
        const index = msg.index as number
        if (index >= source.layout.chunkCount) {
          throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `request for chunk ${index}, but ${cid} has ${source.layout.chunkCount}`)
        }
        if (queue.length >= MAX_PENDING_REQUESTS_PER_STREAM) {
          throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `more than ${MAX_PENDING_REQUESTS_PER_STREAM} requests pending`)
        }
        queue.push(index)
        notify()
        break
      }
      case XferMessage.Type.CANCEL: {
        const at = queue.indexOf(msg.index as number)
        if (at >= 0) queue.splice(at, 1)
        // already taken from the queue, waiting for room to be sent: drop it there
        else pending.cancel(msg.index as number)
        break
      }
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
  input.onChange = notify

  const working = new Set<Promise<void>>()
  let failure: unknown
  /** Read and verify one chunk under an upload slot (held only for that); undefined when it cannot be served. */
  const readUnderSlot = async (index: number): Promise<Uint8Array | undefined> => {
    const release = await slots.acquire()
    try {
      return await source.readChunk(index)
    } catch (err) {
      log('cannot serve chunk %d of %s to %p: %e', index, cid, peer, err)
      return undefined
    } finally {
      release()
    }
  }
  /**
   * Capped uploads: the chunk is read only when the paced writer reaches it
   * (one block per stream in memory, not one per queued request), then sent
   * in pieces as the caps allow; no upload slot is held meanwhile.
   */
  const servePaced = async (w: PacedWriter, index: number): Promise<void> => {
    await w.run(async write => {
      if (pending.dropped(index) || stream.status !== 'open') return
      const data = await readUnderSlot(index)
      if (data === undefined) { await write(frame(encodeXfer({ type: XferMessage.Type.NOT_FOUND, index }))); return }
      sent.record(index, peerKey)
      await write(encodeBlockFrame(index, data), true)
      stats.onUploaded(peer, data.byteLength)
    })
  }
  // uncapped: a block is read only when the stream's queue has room for it;
  // a peer that reads nothing for SEND_TIMEOUT_MS is cut off
  const gate = writer === undefined
    ? new SendQueueGate(stream, SEND_QUEUE_BYTES, SEND_TIMEOUT_MS, err => { failure ??= err; abortStream(stream, err); notify() })
    : undefined
  /** Read, verify and queue one block, once the stream has room; the upload slot covers only the read. */
  const serveOne = async (index: number): Promise<void> => {
    if (gate === undefined) { await servePaced(writer as PacedWriter, index); return }
    if (pending.dropped(index)) return
    const size = source.layout.locate(index).length
    await gate.reserve(size)
    try {
      if (pending.dropped(index)) return
      const data = await readUnderSlot(index)
      if (stream.status !== 'open') return
      if (data === undefined) { sendSoon(encodeXfer({ type: XferMessage.Type.NOT_FOUND, index })); return }
      sent.record(index, peerKey)
      stream.send(encodeBlockFrame(index, data))
      stats.onUploaded(peer, data.byteLength)
    } finally {
      gate.release(size)
    }
  }

  try {
    while (true) {
      if (input.error !== undefined) throw input.error
      if (failure !== undefined) throw failure
      if (working.size >= STREAM_CONCURRENCY) {
        await new Promise<void>(resolve => { wake = resolve })
        continue
      }
      const index = takeNext(queue, sent)
      if (index === undefined) {
        if (input.ended && working.size === 0) break
        await new Promise<void>(resolve => { wake = resolve })
        continue
      }
      if (lookup(cid) === undefined) {
        // unshared, or its file changed on disk: say so, so the peer looks elsewhere
        await sendAndWait(encodeXfer({ type: XferMessage.Type.ERROR, message: 'no longer shared here' }))
        await stream.close()
        return
      }
      if (!source.has(index) || superseeding(index)) {
        await sendAndWait(encodeXfer({ type: XferMessage.Type.NOT_FOUND, index }))
        continue
      }
      pending.take(index)
      const job = serveOne(index).catch(err => { failure ??= err })
      working.add(job)
      void job.finally(() => { working.delete(job); pending.answered(index); notify() })
    }
    // close flushes what is queued: bounded, as for every other write
    if (stream.status === 'open') await stream.close({ signal: AbortSignal.timeout(SEND_TIMEOUT_MS) })
  } finally {
    gate?.close()
    unsubscribe()
    leave()
  }
}
