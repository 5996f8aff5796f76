import { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode, ShoalError } from './errors.js'

/** Longest varint length prefix accepted (enough for 2^35). */
const MAX_PREFIX_BYTES = 5

/** Prefix `bytes` with its unsigned-varint length. */
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
 * Split a byte stream into length-prefixed frames (unsigned varint length,
 * shortest encoding only). The declared length is checked against
 * `maxFrameBytes` before anything is buffered for it. Throws FRAME_TOO_LARGE
 * for an oversized frame, PROTOCOL_ERROR for a malformed prefix or a stream
 * that ends inside a frame.
 */
export async function * readFrames (
  source: AsyncIterable<Uint8Array | Uint8ArrayList> | Iterable<Uint8Array | Uint8ArrayList>,
  maxFrameBytes: number
): AsyncGenerator<Uint8ArrayList, void, undefined> {
  const buffer = new Uint8ArrayList()
  let want = -1 // length of the frame being read, or -1 while reading a prefix
  for await (const chunk of source) {
    buffer.append(chunk)
    while (true) {
      if (want < 0) {
        const prefix = readPrefix(buffer, maxFrameBytes)
        if (prefix === undefined) break
        buffer.consume(prefix.bytes)
        want = prefix.length
      }
      if (buffer.byteLength < want) break
      const frameBytes = buffer.sublist(0, want)
      buffer.consume(want)
      want = -1
      yield frameBytes
    }
  }
  if (want >= 0 || buffer.byteLength > 0) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream ended in the middle of a frame')
  }
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
