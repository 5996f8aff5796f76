import { logger } from '@libp2p/logger'
import {
  ErrorCode, MAX_XFER_FRAME_BYTES, ShoalError, XFER_PROTOCOL, XferMessage, decodeXfer, encodeXfer
} from '@shoal/protocol'
import type { CID } from '@shoal/protocol'
import type { PeerId, Stream } from '@libp2p/interface'
import { DIAL_TIMEOUT_MS, HELLO_TIMEOUT_MS } from './constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'
import { abortStream, framesOf, nextFrame, sendFrame } from './stream-io.js'

const log = logger('shoal:xfer:session')

/** What a session reports to the download that owns it. */
export interface SessionEvents {
  onBlock(session: PeerSession, index: number, data: Uint8Array): void
  onNotFound(session: PeerSession, index: number): void
  onClosed(session: PeerSession, err?: unknown): void
}

/**
 * The downloading side of one xfer stream to one peer for one root:
 * sends REQUESTs and CANCELs, hands BLOCKs to the download.
 */
export class PeerSession {
  readonly peer: PeerId
  /** Chunk indexes requested and not yet answered, with request time. */
  readonly inflight = new Map<number, number>()
  private readonly stream: Stream
  private readonly events: SessionEvents
  private readonly chunkCount: number
  private closed = false

  private constructor (peer: PeerId, stream: Stream, chunkCount: number, events: SessionEvents) {
    this.peer = peer
    this.stream = stream
    this.chunkCount = chunkCount
    this.events = events
  }

  /** Open a stream, say HELLO, and wait for the peer's holdings. */
  static async open (node: ShoalLibp2p, peer: PeerId, cid: CID, chunkCount: number, events: SessionEvents, signal?: AbortSignal): Promise<PeerSession | undefined> {
    const dialSignal = signal !== undefined ? AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) : AbortSignal.timeout(DIAL_TIMEOUT_MS)
    const stream = await node.dialProtocol(peer, XFER_PROTOCOL, { signal: dialSignal })
    try {
      await sendFrame(stream, encodeXfer({ type: XferMessage.Type.HELLO, root: cid.bytes }), dialSignal)
      const frames = framesOf(stream, MAX_XFER_FRAME_BYTES)
      const first = await nextFrame(frames, stream, HELLO_TIMEOUT_MS, 'the answer to HELLO')
      if (first === undefined) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'peer closed the stream after HELLO')
      const msg = decodeXfer(first)
      if (msg.type === XferMessage.Type.NOT_FOUND) {
        await stream.close().catch(() => {})
        return undefined
      }
      if (msg.type !== XferMessage.Type.HAVE_ALL) {
        throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `expected HAVE_ALL after HELLO, got ${msg.type}`)
      }
      const session = new PeerSession(peer, stream, chunkCount, events)
      session.readLoop(frames)
      return session
    } catch (err) {
      abortStream(stream, err)
      throw err
    }
  }

  get isClosed (): boolean {
    return this.closed
  }

  /** Ask for chunk `index`. */
  request (index: number): void {
    if (this.closed) return
    this.inflight.set(index, Date.now())
    this.sendNow(encodeXfer({ type: XferMessage.Type.REQUEST, index }))
  }

  /** Withdraw a request (another peer delivered it, or it timed out). */
  cancel (index: number): void {
    if (!this.inflight.delete(index) || this.closed) return
    this.sendNow(encodeXfer({ type: XferMessage.Type.CANCEL, index }))
  }

  /** Close gracefully (done) or abort with a reason (misbehaving peer). */
  close (err?: unknown): void {
    if (this.closed) return
    this.closed = true
    if (err !== undefined) abortStream(this.stream, err)
    else this.stream.close().catch(e => { abortStream(this.stream, e) })
    this.events.onClosed(this, err)
  }

  private sendNow (bytes: Uint8Array): void {
    // requests are tiny and bounded by the request window, so we never wait for drain here
    sendFrame(this.stream, bytes).catch(err => { this.close(err) })
  }

  private readLoop (frames: AsyncGenerator<Uint8Array>): void {
    void (async () => {
      try {
        for await (const bytes of frames) {
          if (this.closed) return
          const msg = decodeXfer(bytes)
          const index = msg.index
          switch (msg.type) {
            case XferMessage.Type.BLOCK:
            case XferMessage.Type.NOT_FOUND:
              if (index === undefined || index >= this.chunkCount) {
                throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `${msg.type} for chunk ${String(index)} out of range`)
              }
              if (!this.inflight.delete(index)) break // cancelled or unasked: ignore
              if (msg.type === XferMessage.Type.BLOCK) this.events.onBlock(this, index, msg.data)
              else this.events.onNotFound(this, index)
              break
            case XferMessage.Type.HAVE:
            case XferMessage.Type.HAVE_ALL:
            case XferMessage.Type.BITFIELD:
              break
            case XferMessage.Type.ERROR:
              throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `peer reported: ${msg.message.slice(0, 200)}`)
            default:
              throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `unexpected ${msg.type} from the serving side`)
          }
        }
        this.close()
      } catch (err) {
        log('session with %p failed: %e', this.peer, err)
        this.close(err)
      }
    })()
  }
}
