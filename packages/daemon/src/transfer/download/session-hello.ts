import { Bitfield, ErrorCode, ShoalError, XferMessage, decodeXfer, encodeXfer } from '@shoal/protocol'
import type { CID } from '@shoal/protocol'
import type { Stream } from '@libp2p/interface'
import { HELLO_TIMEOUT_MS } from '../../constants.js'
import { sendFrame } from '../../net/frame-io.js'
import type { FrameInbox } from '../../net/frame-io.js'

/**
 * The requester's handshake on a new xfer stream: send HELLO{root}, read the
 * answer. 'all' (HAVE_ALL) or the chunks set in a BITFIELD (exactly
 * ceil(N/8) bytes); undefined when the peer does not serve the root
 * (NOT_FOUND: the stream is closed). Anything else is PROTOCOL_ERROR.
 */
export async function sayHello (stream: Stream, inbox: FrameInbox, root: CID, chunkCount: number, signal: AbortSignal): Promise<'all' | Bitfield | undefined> {
  await sendFrame(stream, encodeXfer({ type: XferMessage.Type.HELLO, root: root.bytes }), signal)
  const first = await inbox.next(HELLO_TIMEOUT_MS, 'the answer to HELLO')
  if (first === undefined) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'peer closed the stream after HELLO')
  const msg = decodeXfer(first)
  switch (msg.type) {
    case XferMessage.Type.NOT_FOUND:
      await stream.close().catch(() => {})
      return undefined
    case XferMessage.Type.HAVE_ALL:
      return 'all'
    case XferMessage.Type.BITFIELD:
      try {
        return new Bitfield(chunkCount, msg.data)
      } catch (err) {
        throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `BITFIELD of ${msg.data.byteLength} bytes for ${chunkCount} chunks`, { cause: err })
      }
    default:
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `expected HAVE_ALL or BITFIELD after HELLO, got ${msg.type}`)
  }
}
