import { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode, ShoalError } from './errors.js'

/** Longest varint length prefix accepted (enough for 2^35). */
const MAX_PREFIX_BYTES = 5

/**
 * Prefix `bytes` with its unsigned-varint length, without copying them.
 *
 * @example
 * ```ts
 * stream.send(frame(encodeXfer({ type: XferMessage.Type.HAVE_ALL })))
 * ```
 */
export function frame (bytes: Uint8Array): Uint8ArrayList {
  const prefix: number[] = []
  let n = bytes.byteLength
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  prefix.push(n)
  return new Uint8ArrayList(Uint8Array.from(prefix), bytes)
}

/**
 * Push-based frame splitter: feed it bytes as they arrive (e.g. from a
 * stream's 'message' events), get back the complete frames. The declared
 * length is checked against `maxFrameBytes` before anything is buffered for
 * it; FRAME_TOO_LARGE / PROTOCOL_ERROR are thrown from `push` or `end`.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder(MAX_XFER_FRAME_BYTES)
 * stream.addEventListener('message', (e) => {
 *   decoder.push(e.data, (f) => { handle(decodeXfer(f)) })
 * })
 * ```
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private readonly maxFrameBytes: number
  private want = -1 // length of the frame being read, or -1 while reading a prefix

  /** @param maxFrameBytes - the largest frame accepted, e.g. {@link MAX_XFER_FRAME_BYTES} */
  constructor (maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  /**
   * Add bytes; calls `onFrame` for every frame they complete, in order. A bad
   * prefix throws after the frames before it have been delivered.
   */
  push (chunk: Uint8Array | Uint8ArrayList, onFrame: (frame: Uint8ArrayList) => void): void {
    this.buffer.append(chunk)
    while (true) {
      if (this.want < 0) {
        const prefix = readPrefix(this.buffer, this.maxFrameBytes)
        if (prefix === undefined) break
        this.buffer.consume(prefix.bytes)
        this.want = prefix.length
      }
      if (this.buffer.byteLength < this.want) break
      const frame = this.buffer.sublist(0, this.want)
      this.buffer.consume(this.want)
      this.want = -1
      onFrame(frame)
    }
  }

  /** The input ended: throws PROTOCOL_ERROR when it ended inside a frame. */
  end (): void {
    if (this.want >= 0 || this.buffer.byteLength > 0) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream ended in the middle of a frame')
    }
  }
}

/**
 * Split a byte stream into length-prefixed frames (unsigned varint length,
 * shortest encoding only). See FrameDecoder for the checks.
 *
 * @example
 * ```ts
 * for await (const f of readFrames(stream, MAX_MANIFEST_FRAME_BYTES)) {
 *   const request = decodeManifestRequest(f)
 * }
 * ```
 */
export async function * readFrames (
  source: AsyncIterable<Uint8Array | Uint8ArrayList> | Iterable<Uint8Array | Uint8ArrayList>,
  maxFrameBytes: number
): AsyncGenerator<Uint8ArrayList, void, undefined> {
  const decoder = new FrameDecoder(maxFrameBytes)
  for await (const chunk of source) {
    const batch: Uint8ArrayList[] = []
    try {
      decoder.push(chunk, f => { batch.push(f) })
    } catch (err) {
      yield * batch
      throw err
    }
    yield * batch
  }
  decoder.end()
}

/** Parse a varint prefix at the start of `buffer`; undefined when incomplete. */
function readPrefix (buffer: Uint8ArrayList, maxFrameBytes: number): { length: number, bytes: number } | undefined {
  let value = 0
  let scale = 1
  for (let i = 0; i < MAX_PREFIX_BYTES; i++) {
    if (i >= buffer.byteLength) return undefined
    const byte = buffer.get(i)
    value += (byte & 0x7f) * scale
    scale *= 128
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'invalid frame length prefix (not the shortest encoding)')
      if (value > maxFrameBytes) throw new ShoalError(ErrorCode.FRAME_TOO_LARGE, `frame of ${value} bytes is larger than the ${maxFrameBytes} byte limit`)
      return { length: value, bytes: i + 1 }
    }
    // a prefix that already declares more than the limit can stop here
    if (value > maxFrameBytes) throw new ShoalError(ErrorCode.FRAME_TOO_LARGE, `frame larger than the ${maxFrameBytes} byte limit`)
  }
  throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'invalid frame length prefix (too long)')
}
