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
  /** A chunk index (HAVE, REQUEST, BLOCK, CANCEL, NOT_FOUND): the first of `count`. */
  index?: number
  /** How many consecutive chunks from `index` (HAVE, REQUEST, BLOCK, CANCEL, NOT_FOUND); unset means 1. */
  count?: number
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
 * Decode and check one xfer message. Rejects unknown types, messages
 * missing the fields their type needs, and chunk ranges that cannot be
 * (a `count` of 0, without an `index`, or past 2^32 chunks; a BLOCK with
 * fewer data bytes than chunks), with PROTOCOL_ERROR. Whether a range lies
 * inside the root's chunks is for the receiver to check (it knows how many
 * there are): see {@link chunkRange}.
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
  if (msg.count !== undefined) {
    need(msg.index !== undefined, 'count without index')
    need(msg.count >= 1 && (msg.index as number) + msg.count <= 2 ** 32, `bad chunk count ${msg.count}`)
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
      need(msg.count === undefined || msg.data.byteLength >= msg.count, 'fewer data bytes than chunks')
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
 * The chunks a HAVE, REQUEST, BLOCK, CANCEL or NOT_FOUND (with `index`)
 * names: `index` .. `index + count - 1`. PROTOCOL_ERROR when the message
 * has no index or the range goes past `chunkCount` (the root's chunks).
 *
 * @example
 * ```ts
 * const { first, count } = chunkRange(msg, layout.chunkCount)
 * for (let i = first; i < first + count; i++) cancel(i)
 * ```
 */
export function chunkRange (msg: { type: XferMessage.Type, index?: number, count?: number }, chunkCount: number): {
  /** The first chunk. */
  first: number
  /** How many chunks, at least 1. */
  count: number
} {
  const first = msg.index
  const count = msg.count ?? 1
  if (first === undefined || first + count > chunkCount) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `${String(msg.type)} for chunks ${String(first)}+${count} out of range (the root has ${chunkCount})`)
  }
  return { first, count }
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
 * instead of copying it. For one chunk (`count` 1, the default) these are the
 * bytes XferMessage.encode produces (fields type=BLOCK, index, data, in field
 * order) for non-empty data; for a run of `count` chunks, `data` holds them
 * one after another and the `count` field goes before `data` (08 06 18
 * <index> 38 <count> 22 <length> <data>), so that the header is one piece.
 *
 * @example
 * ```ts
 * stream.send(encodeBlockFrame(7, chunk)) // no copy of `chunk`
 * stream.send(encodeBlockFrame(8, smallChunks, 40)) // chunks 8..47 in one frame
 * ```
 */
export function encodeBlockFrame (index: number, data: Uint8Array, count = 1): Uint8ArrayList {
  const header: number[] = [0x08, 6, 0x18]
  pushVarint(header, index)
  if (count !== 1) {
    header.push(0x38)
    pushVarint(header, count)
  }
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
 * index, count unless 1, data, nothing else), return the index, the count
 * and the data as a view of the frame's pieces, without copying. Anything
 * else returns undefined: decode it with decodeXfer. The checks are those of
 * decodeXfer; whether the chunks exist is for the caller.
 *
 * @example
 * ```ts
 * const block = decodeBlockFrame(f)
 * if (block !== undefined) received(block.index, block.data)
 * else handle(decodeXfer(f))
 * ```
 */
export function decodeBlockFrame (frame: Uint8ArrayList): {
  /** The first chunk's index. */
  index: number
  /** How many chunks, at least 1. */
  count: number
  /** The chunks' bytes, one after another, a view of `frame`. */
  data: Uint8ArrayList
} | undefined {
  if (frame.byteLength < 5 || frame.get(0) !== 0x08 || frame.get(1) !== 6 || frame.get(2) !== 0x18) return undefined
  let pos = 3
  const index = readVarint(frame, pos)
  if (index === undefined || index.value > 0xffffffff) return undefined
  pos += index.bytes
  let count = 1
  if (pos < frame.byteLength && frame.get(pos) === 0x38) {
    const c = readVarint(frame, pos + 1)
    if (c === undefined || c.value === 0 || index.value + c.value > 2 ** 32) return undefined
    count = c.value
    pos += 1 + c.bytes
  }
  if (pos >= frame.byteLength || frame.get(pos) !== 0x22) return undefined
  pos++
  const length = readVarint(frame, pos)
  if (length === undefined) return undefined
  pos += length.bytes
  if (pos + length.value !== frame.byteLength || length.value < count || length.value > MAX_CHUNK_SIZE) return undefined
  return { index: index.value, count, data: frame.sublist(pos) }
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
