import * as lp from 'it-length-prefixed'
import type { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode, ShoalError } from './errors.js'

/** Prefix `bytes` with its unsigned-varint length. */
export function frame (bytes: Uint8Array): Uint8ArrayList {
  return lp.encode.single(bytes)
}

/**
 * Split a byte stream into length-prefixed frames. The declared length is
 * checked against `maxFrameBytes` before any buffer is allocated for it;
 * oversized or truncated frames throw FRAME_TOO_LARGE / PROTOCOL_ERROR.
 */
export async function * readFrames (
  source: AsyncIterable<Uint8Array | Uint8ArrayList> | Iterable<Uint8Array | Uint8ArrayList>,
  maxFrameBytes: number
): AsyncGenerator<Uint8ArrayList, void, undefined> {
  try {
    yield * lp.decode(source, { maxDataLength: maxFrameBytes, maxLengthLength: 8 })
  } catch (err: unknown) {
    throw toFrameError(err, maxFrameBytes)
  }
}

function toFrameError (err: unknown, maxFrameBytes: number): unknown {
  if (err instanceof ShoalError) return err
  const name = (err as { name?: string })?.name
  switch (name) {
    case 'InvalidDataLengthError':
      return new ShoalError(ErrorCode.FRAME_TOO_LARGE, `frame larger than the ${maxFrameBytes} byte limit`, { cause: err })
    case 'InvalidDataLengthLengthError':
    case 'InvalidMessageLengthError':
      return new ShoalError(ErrorCode.PROTOCOL_ERROR, 'invalid frame length prefix', { cause: err })
    case 'UnexpectedEOFError':
      return new ShoalError(ErrorCode.PROTOCOL_ERROR, 'stream ended in the middle of a frame', { cause: err })
    default:
      return err
  }
}
