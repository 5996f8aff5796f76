/**
 * Bitswap on libp2p: each side sends its messages on streams it opens
 * itself, and only reads on the streams the other side opened. Inbound:
 * `/ipfs/bitswap/1.2.0` and `/ipfs/bitswap/1.1.0`, every frame bounded by
 * MAX_BITSWAP_MESSAGE_BYTES before it is buffered, an idle stream closed
 * after BITSWAP_IDLE_STREAM_MS, at most BITSWAP_MAX_INBOUND_STREAMS per
 * connection; each decoded message goes to the listeners (the server for
 * want lists, the fetcher for blocks and presences). Outbound: one stream
 * per peer at a time, opened when there is something to send, closed when
 * idle, with a bounded queue; a message that cannot be written within
 * SEND_TIMEOUT_MS resets the stream.
 */
import { BITSWAP_110, BITSWAP_120, ErrorCode, MAX_BITSWAP_MESSAGE_BYTES, ShoalError, decodeBitswap, encodeBitswap } from '@shoal/protocol'
import type { BitswapMessage } from '@shoal/protocol'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import {
  BITSWAP_IDLE_STREAM_MS, BITSWAP_MAX_INBOUND_STREAMS, BITSWAP_OUTBOX_IDLE_MS, BITSWAP_OUTBOX_MAX_MESSAGES, DIAL_TIMEOUT_MS, SEND_TIMEOUT_MS
} from '../../constants.js'
import { abortStream, readFramesByEvent, sendFrame } from '../../net/frame-io.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'

/** Someone interested in the Bitswap messages peers send us. */
export interface BitswapListener {
  /** One message from `peer`, on a stream of `protocol` (1.1.0 has no presences nor want-have). */
  onMessage(peer: PeerId, message: BitswapMessage, protocol: string): void
  /** Bytes from `peer` arrived on a Bitswap stream (a message may still be incomplete). */
  onBytes?(peer: PeerId): void
  /** `peer`'s last connection closed. */
  onPeerGone?(peer: PeerId): void
}

/** Which Bitswap a peer speaks, once we have opened a stream to it. */
export type BitswapVersion = typeof BITSWAP_120 | typeof BITSWAP_110

export interface BitswapNetworkInit {
  log: Logger
  /** Close an inbound stream that carried nothing for this long. @default BITSWAP_IDLE_STREAM_MS */
  idleStreamMs?: number
}

/** Bitswap's streams: inbound readers and one outbox per peer. */
export class BitswapNetwork {
  private readonly log: Logger
  private readonly listeners = new Set<BitswapListener>()
  private readonly outboxes = new Map<string, Outbox>()
  private readonly idleStreamMs: number
  private running = false
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail
    this.outboxes.get(peer.toString())?.close()
    for (const l of this.listeners) l.onPeerGone?.(peer)
  }

  constructor (private readonly node: ShoalLibp2p, init: BitswapNetworkInit) {
    this.log = init.log
    this.idleStreamMs = init.idleStreamMs ?? BITSWAP_IDLE_STREAM_MS
  }

  addListener (listener: BitswapListener): void {
    this.listeners.add(listener)
  }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    await this.node.handle([BITSWAP_120, BITSWAP_110], (stream, connection) => { this.onStream(stream, connection) }, {
      maxInboundStreams: BITSWAP_MAX_INBOUND_STREAMS,
      runOnLimitedConnection: true
    })
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const box of this.outboxes.values()) box.close()
    this.outboxes.clear()
    await this.node.unhandle([BITSWAP_120, BITSWAP_110]).catch(() => {})
  }

  /**
   * Queue `message` for `peer` (dialing it if needed). Resolves once it was
   * written, rejects when it could not be (the peer is unreachable, stopped
   * reading, or its queue is full).
   */
  async send (peer: PeerId, message: Partial<BitswapMessage>, signal?: AbortSignal): Promise<void> {
    if (!this.running) throw new ShoalError(ErrorCode.NOT_STARTED, 'bitswap is not running')
    const key = peer.toString()
    let box = this.outboxes.get(key)
    if (box === undefined || box.closed) {
      box = new Outbox(this.node, peer, this.log, () => { if (this.outboxes.get(key) === box) this.outboxes.delete(key) })
      this.outboxes.set(key, box)
    }
    await box.send(encodeBitswap(message), signal)
  }

  private onStream (stream: Stream, connection: Connection): void {
    if (!this.running) { abortStream(stream, new Error('bitswap stopped')); return }
    const peer = connection.remotePeer
    const protocol = stream.protocol ?? BITSWAP_120
    this.log.trace('bitswap stream from %p (%s)', peer, protocol)
    let idle: NodeJS.Timeout | undefined
    const touch = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { abortStream(stream, new ShoalError(ErrorCode.PROTOCOL_ERROR, `no bitswap message for ${this.idleStreamMs} ms`)) }, this.idleStreamMs)
      idle.unref()
    }
    touch()
    readFramesByEvent(stream, MAX_BITSWAP_MESSAGE_BYTES, {
      onBytes: () => {
        touch()
        for (const l of this.listeners) l.onBytes?.(peer)
      },
      onFrame: (frame) => {
        const message = decodeBitswap(frame)
        this.log.trace('bitswap message from %p: %d wants, %d blocks, %d presences', peer, message.wantlist?.entries.length ?? 0, message.payload.length, message.blockPresences.length)
        for (const l of this.listeners) {
          try {
            l.onMessage(peer, message, protocol)
          } catch (err) {
            this.log.error('bitswap listener failed on a message from %p: %e', peer, err)
          }
        }
      },
      onEnd: (err) => {
        clearTimeout(idle)
        if (err !== undefined) {
          this.log('bitswap stream from %p ends: %e', peer, err)
          abortStream(stream, err)
          return
        }
        // we never write on a peer's stream (our replies go on our own): closing
        // our side only now, since closing it earlier dropped what was still buffered
        stream.close().catch(() => {})
      }
    })
  }
}

/** Messages to one peer, written in order on one stream we opened. */
class Outbox {
  closed = false
  version?: BitswapVersion
  private stream?: Stream
  private opening?: Promise<Stream>
  private tail: Promise<void> = Promise.resolve()
  private queued = 0
  private idle?: NodeJS.Timeout

  constructor (
    private readonly node: ShoalLibp2p,
    private readonly peer: PeerId,
    private readonly log: Logger,
    private readonly onClosed: () => void
  ) {}

  async send (bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (this.queued >= BITSWAP_OUTBOX_MAX_MESSAGES) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `more than ${BITSWAP_OUTBOX_MAX_MESSAGES} bitswap messages queued for ${this.peer.toString()}`)
    this.queued++
    const run = this.tail.then(async () => {
      clearTimeout(this.idle)
      const stream = await this.open(signal)
      const timeout = AbortSignal.timeout(SEND_TIMEOUT_MS)
      try {
        await sendFrame(stream, bytes, signal !== undefined ? AbortSignal.any([signal, timeout]) : timeout)
      } catch (err) {
        // a stream the peer reset (an idle timeout of its own) is reopened for the next message
        this.drop(err)
        throw err
      }
    }).finally(() => {
      this.queued--
      if (this.queued === 0 && !this.closed) {
        this.idle = setTimeout(() => { this.close() }, BITSWAP_OUTBOX_IDLE_MS)
        this.idle.unref()
      }
    })
    this.tail = run.catch(() => {})
    await run
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.idle)
    const stream = this.stream
    this.stream = undefined
    stream?.close().catch(() => {})
    this.onClosed()
  }

  private drop (err: unknown): void {
    const stream = this.stream
    this.stream = undefined
    if (stream !== undefined) abortStream(stream, err)
  }

  private async open (signal?: AbortSignal): Promise<Stream> {
    if (this.closed) throw new ShoalError(ErrorCode.ABORTED, 'bitswap outbox closed')
    if (this.stream !== undefined && this.stream.status === 'open' && this.stream.writeStatus === 'writable') return this.stream
    this.stream = undefined
    const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
    this.opening ??= this.node.dialProtocol(this.peer, [BITSWAP_120, BITSWAP_110], {
      signal: signal !== undefined ? AbortSignal.any([signal, timeout]) : timeout,
      runOnLimitedConnection: true
    }).finally(() => { this.opening = undefined })
    const stream = await this.opening
    this.version = stream.protocol === BITSWAP_110 ? BITSWAP_110 : BITSWAP_120
    // we never read on our own stream: the peer answers on one it opens
    stream.closeRead().catch(() => {})
    this.stream = stream
    this.log('bitswap stream to %p open (%s)', this.peer, this.version)
    return stream
  }
}
