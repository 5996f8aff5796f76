import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_CHUNK_SIZE, MAX_PEX_PEERS } from './constants.js'
import { ErrorCode, ShoalError } from './errors.js'
import { ManifestRequest, ManifestResponse } from './pb/manifest.js'
import { XferMessage } from './pb/xfer.js'

export { XferMessage, ManifestRequest, ManifestResponse }

/** Fields of an xfer message to encode; unset fields take proto3 defaults. docs/PROTOCOL.md says which each type needs. */
export interface XferFields {
  /** The message type. */
  type: XferMessage.Type
  /** The content id's bytes (HELLO). */
  root?: Uint8Array
  /** A chunk index (HAVE, REQUEST, BLOCK, CANCEL, NOT_FOUND). */
  index?: number
  /** Chunk bytes (BLOCK) or bitfield bytes (BITFIELD). */
  data?: Uint8Array
  /** Why (ERROR). */
  message?: string
  /** Multiaddrs ending in `/p2p/<peer id>` (PEERS). */
  peers?: string[]
}

/**
 * Encode an xfer message (without length prefix).
 *
 * @example
 * ```ts
 * const request = frame(encodeXfer({ type: XferMessage.Type.REQUEST, index: 7 }))
 * ```
 */
export function encodeXfer (msg: XferFields): Uint8Array {
  return XferMessage.encode({ peers: [], ...msg } as XferMessage)
}

/**
 * Decode and check one xfer message. Rejects unknown types, and messages
 * missing the fields their type needs, with PROTOCOL_ERROR.
 *
 * @example
 * ```ts
 * const msg = decodeXfer(f)
 * if (msg.type === XferMessage.Type.REQUEST) serve(msg.index)
 * ```
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

/**
 * Decode a manifest request; PROTOCOL_ERROR when malformed.
 *
 * @example
 * ```ts
 * const cid = contentIdFromBytes(decodeManifestRequest(f).root)
 * ```
 */
export function decodeManifestRequest (bytes: Uint8Array | Uint8ArrayList): ManifestRequest {
  try {
    const req = ManifestRequest.decode(bytes)
    if (req.root.byteLength === 0 || req.root.byteLength > 128) throw new Error('missing or oversized root')
    return req
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'bad manifest request', { cause: err })
  }
}

/**
 * Decode a manifest response; PROTOCOL_ERROR when malformed.
 *
 * @example
 * ```ts
 * const res = decodeManifestResponse(f)
 * if (res.status === ManifestResponse.Status.OK && await manifestMatches(cid, res.manifest)) use(decodeManifest(res.manifest))
 * ```
 */
export function decodeManifestResponse (bytes: Uint8Array | Uint8ArrayList): ManifestResponse {
  try {
    const res = ManifestResponse.decode(bytes)
    if (res.status === undefined || !Object.values(ManifestResponse.Status).includes(res.status)) throw new Error('unknown status')
    return res
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'bad manifest response', { cause: err })
  }
}

/**
 * A complete BLOCK frame (length prefix + XferMessage) that references `data`
 * instead of copying it: the same bytes XferMessage.encode would produce
 * (fields type=BLOCK, index, data, in field order) for non-empty data.
 *
 * @example
 * ```ts
 * stream.send(encodeBlockFrame(7, chunk)) // no copy of `chunk`
 * ```
 */
export function encodeBlockFrame (index: number, data: Uint8Array): Uint8ArrayList {
  const header: number[] = [0x08, 6, 0x18]
  pushVarint(header, index)
  header.push(0x22)
  pushVarint(header, data.byteLength)
  const prefix: number[] = []
  pushVarint(prefix, header.length + data.byteLength)
  return new Uint8ArrayList(Uint8Array.from([...prefix, ...header]), data)
}

function pushVarint (out: number[], value: number): void {
  let n = value
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
}

/**
 * Fast path for the receiver: if `frame` (one xfer message, without its
 * length prefix) is a BLOCK laid out as encodeBlockFrame writes it (type,
 * index, data, nothing else), return the index and the data as a view of the
 * frame's pieces, without copying. Anything else returns undefined: decode it
 * with decodeXfer.
 *
 * @example
 * ```ts
 * const block = decodeBlockFrame(f)
 * if (block !== undefined) received(block.index, block.data)
 * else handle(decodeXfer(f))
 * ```
 */
export function decodeBlockFrame (frame: Uint8ArrayList): {
  /** The chunk index. */
  index: number
  /** The chunk's bytes, a view of `frame`. */
  data: Uint8ArrayList
} | undefined {
  if (frame.byteLength < 5 || frame.get(0) !== 0x08 || frame.get(1) !== 6 || frame.get(2) !== 0x18) return undefined
  let pos = 3
  const index = readVarint(frame, pos)
  if (index === undefined || index.value > 0xffffffff) return undefined
  pos += index.bytes
  if (pos >= frame.byteLength || frame.get(pos) !== 0x22) return undefined
  pos++
  const length = readVarint(frame, pos)
  if (length === undefined) return undefined
  pos += length.bytes
  if (pos + length.value !== frame.byteLength || length.value === 0 || length.value > MAX_CHUNK_SIZE) return undefined
  return { index: index.value, data: frame.sublist(pos) }
}

function readVarint (list: Uint8ArrayList, at: number): { value: number, bytes: number } | undefined {
  let value = 0
  let scale = 1
  for (let i = 0; i < 5 && at + i < list.byteLength; i++) {
    const byte = list.get(at + i)
    value += (byte & 0x7f) * scale
    scale *= 128
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 }
  }
  return undefined
}
