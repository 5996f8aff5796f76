import type { Uint8ArrayList } from 'uint8arraylist'
import { MAX_CHUNK_SIZE, MAX_PEX_PEERS } from './constants.js'
import { ErrorCode, ShoalError } from './errors.js'
import { ManifestRequest, ManifestResponse } from './pb/manifest.js'
import { XferMessage } from './pb/xfer.js'

export { XferMessage, ManifestRequest, ManifestResponse }

/** Fields of an xfer message to encode; unset fields take proto3 defaults. */
export interface XferFields {
  type: XferMessage.Type
  root?: Uint8Array
  index?: number
  data?: Uint8Array
  message?: string
  peers?: string[]
}

/** Encode an xfer message (without length prefix). */
export function encodeXfer (msg: XferFields): Uint8Array {
  return XferMessage.encode({ peers: [], ...msg } as XferMessage)
}

/**
 * Decode and check one xfer message. Rejects unknown types, and messages
 * missing the fields their type needs, with PROTOCOL_ERROR.
 */
export function decodeXfer (bytes: Uint8Array | Uint8ArrayList): XferMessage {
  let msg: XferMessage
  try {
    msg = XferMessage.decode(bytes)
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'undecodable xfer message', { cause: err })
  }
  const need = (cond: boolean, why: string): void => {
    if (!cond) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `bad ${String(msg.type)} message: ${why}`)
  }
  switch (msg.type) {
    case XferMessage.Type.HELLO:
      need(msg.root.byteLength > 0 && msg.root.byteLength <= 128, 'missing root')
      break
    case XferMessage.Type.HAVE_ALL:
      break
    case XferMessage.Type.BITFIELD:
      need(msg.data.byteLength <= MAX_CHUNK_SIZE, 'bitfield too large')
      break
    case XferMessage.Type.HAVE:
    case XferMessage.Type.REQUEST:
    case XferMessage.Type.CANCEL:
      need(msg.index !== undefined, 'missing index')
      break
    case XferMessage.Type.BLOCK:
      need(msg.index !== undefined, 'missing index')
      need(msg.data.byteLength <= MAX_CHUNK_SIZE, 'block larger than the largest chunk')
      break
    case XferMessage.Type.PEERS:
      need(msg.peers.length <= MAX_PEX_PEERS, `more than ${MAX_PEX_PEERS} peers`)
      need(msg.peers.every(p => p.length <= 1024), 'peer address too long')
      break
    case XferMessage.Type.NOT_FOUND:
    case XferMessage.Type.ERROR:
      break
    default:
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `unknown xfer message type ${String(msg.type)}`)
  }
  return msg
}

/** Decode a manifest request; PROTOCOL_ERROR when malformed. */
export function decodeManifestRequest (bytes: Uint8Array | Uint8ArrayList): ManifestRequest {
  try {
    const req = ManifestRequest.decode(bytes)
    if (req.root.byteLength === 0 || req.root.byteLength > 128) throw new Error('missing or oversized root')
    return req
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'bad manifest request', { cause: err })
  }
}

/** Decode a manifest response; PROTOCOL_ERROR when malformed. */
export function decodeManifestResponse (bytes: Uint8Array | Uint8ArrayList): ManifestResponse {
  try {
    const res = ManifestResponse.decode(bytes)
    if (res.status === undefined || !Object.values(ManifestResponse.Status).includes(res.status)) throw new Error('unknown status')
    return res
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'bad manifest response', { cause: err })
  }
}
