import { ErrorCode, FrameDecoder, ShoalError, frame } from '@shoal/protocol'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Send one length-prefixed frame, waiting for the window when it is full. */
export async function sendFrame (stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.status !== 'open') throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed')
  if (!stream.send(frame(bytes))) {
    await stream.onDrain(signal !== undefined ? { signal } : undefined)
  }
}

/** Abort with a typed error unless already closed. */
export function abortStream (stream: Stream, err: unknown): void {
  if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') return
  stream.abort(err instanceof Error ? err : new Error(String(err)))
}

export interface FrameHandlers {
  /** One complete frame. Throwing ends reading with that error (see onEnd). */
  onFrame(frame: Uint8ArrayList): void
  /** Any bytes arrived (part of a frame, maybe). */
  onBytes?(): void
  /** Called once: the peer ended its side cleanly (no error), the stream failed, or the input was bad; the owner aborts. */
  onEnd(err?: unknown): void
}

/**
 * Read length-prefixed frames with 'message' event listeners, the cheapest
 * reader libp2p streams have (shared/STACK.md). Bytes that arrived before
 * this is called are buffered by the stream and delivered now.
 */
export function readFramesByEvent (stream: Stream, maxFrameBytes: number, handlers: FrameHandlers): void {
  const decoder = new FrameDecoder(maxFrameBytes)
  let ended = false
  const cleanup = (): void => {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEndEvent)
    stream.removeEventListener('close', onClose)
  }
  const finish = (err?: unknown): void => {
    if (ended) return
    ended = true
    cleanup()
    handlers.onEnd(err)
  }
  const onMessage = (evt: StreamMessageEvent): void => {
    if (ended) return
    handlers.onBytes?.()
    try {
      decoder.push(evt.data, frame => { if (!ended) handlers.onFrame(frame) })
    } catch (err) {
      // the owner decides: it may tell the peer why (ERROR) before aborting
      finish(err)
    }
  }
  const onEndEvent = (): void => {
    try {
      decoder.end()
      finish()
    } catch (err) {
      finish(err)
    }
  }
  const onClose = (evt: Event): void => {
    const error = (evt as Event & { error?: Error }).error
    if (error !== undefined) finish(error)
    else onEndEvent()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEndEvent)
  stream.addEventListener('close', onClose)
  if (stream.readableEnded) onEndEvent()
}

/**
 * The one frame reader for Shoal's streams, on 'message' events: the first
 * frames can be awaited one by one with a timeout (HELLO, a request, a
 * reply); once `handler` is set, every frame goes to it as it arrives.
 * Errors (bad framing, a throwing handler, a failed stream) end reading and
 * are kept in `error`; `onChange` fires then and at a clean end. The owner
 * aborts the stream, after telling the peer why if it wants to.
 */
export class FrameInbox {
  onChange?: () => void
  /** Called whenever bytes arrive, before they are framed. */
  onBytes?: () => void
  error?: unknown
  ended = false
  private onMessage?: (bytes: Uint8ArrayList) => void
  private readonly early: Uint8ArrayList[] = []
  private waiter?: (frame: Uint8ArrayList | undefined) => void

  constructor (private readonly stream: Stream, maxFrameBytes: number) {
    readFramesByEvent(stream, maxFrameBytes, {
      onFrame: (f) => {
        if (this.waiter !== undefined) { const w = this.waiter; this.waiter = undefined; w(f); return }
        if (this.onMessage === undefined) { this.early.push(f); return }
        this.deliver(f)
      },
      onBytes: () => { this.onBytes?.() },
      onEnd: (err) => {
        this.ended = true
        if (err !== undefined) this.error ??= err
        const w = this.waiter
        this.waiter = undefined
        w?.(undefined)
        this.onChange?.()
      }
    })
  }

  /** The next frame, or undefined when the stream ended cleanly; aborts the stream on timeout. */
  async next (timeoutMs: number, what: string): Promise<Uint8ArrayList | undefined> {
    const queued = this.early.shift()
    if (queued !== undefined) return queued
    if (this.ended) { if (this.error !== undefined) throw this.error; return undefined }
    let timer: NodeJS.Timeout | undefined
    try {
      const got = await new Promise<Uint8ArrayList | undefined>((resolve, reject) => {
        this.waiter = resolve
        timer = setTimeout(() => {
          this.waiter = undefined
          const err = new ShoalError(ErrorCode.PROTOCOL_ERROR, `timed out after ${timeoutMs} ms waiting for ${what}`)
          this.stream.abort(err)
          reject(err)
        }, timeoutMs)
      })
      if (got === undefined && this.error !== undefined) throw this.error
      return got
    } finally {
      clearTimeout(timer)
    }
  }

  /** From now on, hand every frame (those already queued first) to `fn`. */
  set handler (fn: (bytes: Uint8ArrayList) => void) {
    this.onMessage = fn
    for (const f of this.early.splice(0)) this.deliver(f)
  }

  private deliver (f: Uint8ArrayList): void {
    try {
      this.onMessage?.(f)
    } catch (err) {
      this.error ??= err
      this.onChange?.()
    }
  }
}
