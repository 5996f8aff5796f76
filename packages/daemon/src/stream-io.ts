import { ErrorCode, ShoalError, frame, readFrames } from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'

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
