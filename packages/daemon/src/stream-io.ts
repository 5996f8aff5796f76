import { ErrorCode, FrameDecoder, ShoalError, frame, readFrames } from '@shoal/protocol'
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Send one length-prefixed frame, waiting for the window when it is full. */
export async function sendFrame (stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.status !== 'open') throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream closed')
  if (!stream.send(frame(bytes))) {
    await stream.onDrain(signal !== undefined ? { signal } : undefined)
  }
}

/** Frames of a stream, each checked against `maxFrameBytes` before allocation. */
export function framesOf (stream: Stream, maxFrameBytes: number): AsyncGenerator<Uint8Array> {
  return (async function * () {
    for await (const f of readFrames(stream, maxFrameBytes)) yield f.subarray()
  })()
}

/** The next frame, or undefined at end of stream; aborts the stream on timeout. */
export async function nextFrame (frames: AsyncGenerator<Uint8Array>, stream: Stream, timeoutMs: number, what: string): Promise<Uint8Array | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new ShoalError(ErrorCode.PROTOCOL_ERROR, `timed out after ${timeoutMs} ms waiting for ${what}`)
      stream.abort(err)
      reject(err)
    }, timeoutMs)
  })
  try {
    const result = await Promise.race([frames.next(), timeout])
    return result.done === true ? undefined : result.value
  } finally {
    clearTimeout(timer)
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
