import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { varint } from 'multiformats'
import type { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode, ShoalError } from './errors.js'
import { MAX_BITSWAP_BLOCK_BYTES, SHA2_256_CODE } from './ipfs.js'
import { BitswapMessage } from './pb/bitswap.js'

export { BitswapMessage }

/** Most want-list entries one Bitswap message may carry; more is a protocol error. */
export const MAX_BITSWAP_ENTRIES = 4096
/** Most blocks one Bitswap message may carry. */
export const MAX_BITSWAP_BLOCKS = 64
/** Most block presences one Bitswap message may carry. */
export const MAX_BITSWAP_PRESENCES = 4096

/**
 * Encode a Bitswap message (without its length prefix).
 *
 * @example
 * ```ts
 * const bytes = encodeBitswap({ blockPresences: [{ cid: cid.bytes, type: BitswapMessage.BlockPresenceType.DontHave }] })
 * ```
 */
export function encodeBitswap (msg: Partial<BitswapMessage>): Uint8Array {
  return BitswapMessage.encode({ blocks: [], payload: [], blockPresences: [], pendingBytes: 0, ...msg })
}

/**
 * Decode one Bitswap message, refusing more than {@link MAX_BITSWAP_ENTRIES}
 * wants, {@link MAX_BITSWAP_BLOCKS} blocks or {@link MAX_BITSWAP_PRESENCES}
 * presences, and any block over {@link MAX_BITSWAP_BLOCK_BYTES}
 * (PROTOCOL_ERROR). The frame itself is bounded by the reader.
 *
 * @example
 * ```ts
 * const msg = decodeBitswap(frame)
 * for (const entry of msg.wantlist?.entries ?? []) console.log(CID.decode(entry.block))
 * ```
 */
export function decodeBitswap (bytes: Uint8Array | Uint8ArrayList): BitswapMessage {
  let msg: BitswapMessage
  try {
    msg = BitswapMessage.decode(bytes, {
      limits: {
        wantlist: { entries: MAX_BITSWAP_ENTRIES },
        blocks: MAX_BITSWAP_BLOCKS,
        payload: MAX_BITSWAP_BLOCKS,
        blockPresences: MAX_BITSWAP_PRESENCES
      }
    })
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `undecodable bitswap message: ${(err as Error).message}`, { cause: err })
  }
  for (const block of msg.payload) {
    if (block.data.byteLength > MAX_BITSWAP_BLOCK_BYTES) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `bitswap block of ${block.data.byteLength} bytes is over the ${MAX_BITSWAP_BLOCK_BYTES} byte limit`)
    }
  }
  return msg
}

/**
 * The CID prefix a Bitswap 1.1+ block carries: version, codec, multihash
 * code and digest length, each an unsigned varint.
 *
 * @example
 * ```ts
 * blockPrefix(cid) // Uint8Array [1, 0x55, 0x12, 0x20] for a raw sha2-256 CIDv1
 * ```
 */
export function blockPrefix (cid: CID): Uint8Array {
  const parts = [cid.version, cid.code, cid.multihash.code, cid.multihash.size]
  const out = new Uint8Array(parts.reduce((n, p) => n + varint.encodingLength(p), 0))
  let at = 0
  for (const p of parts) {
    varint.encodeTo(p, out, at)
    at += varint.encodingLength(p)
  }
  return out
}

/** A block prefix, parsed. */
export interface BlockPrefix {
  /** CID version: 0 or 1. */
  version: 0 | 1
  /** Multicodec of the block. */
  codec: number
  /** Multihash code (only sha2-256 is accepted). */
  hashCode: number
  /** Digest length in bytes. */
  hashLength: number
}

/**
 * Parse a Bitswap block prefix; PROTOCOL_ERROR unless it is a well-formed
 * CIDv0 or CIDv1 prefix with a sha2-256 digest of 32 bytes.
 *
 * @example
 * ```ts
 * const prefix = parseBlockPrefix(block.prefix)
 * const cid = cidFromPrefix(prefix, await sha256.digest(block.data))
 * ```
 */
export function parseBlockPrefix (bytes: Uint8Array): BlockPrefix {
  const values: number[] = []
  let at = 0
  try {
    for (let i = 0; i < 4; i++) {
      const [value, length] = varint.decode(bytes, at)
      values.push(value)
      at += length
    }
  } catch (err) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'malformed bitswap block prefix', { cause: err })
  }
  const [version, codec, hashCode, hashLength] = values as [number, number, number, number]
  if (at !== bytes.byteLength || (version !== 0 && version !== 1) || hashCode !== SHA2_256_CODE || hashLength !== 32) {
    throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'unsupported bitswap block prefix (CIDv0 or v1 with sha2-256 only)')
  }
  return { version, codec, hashCode, hashLength }
}

/**
 * The CID of a block from its parsed prefix and the digest of its bytes.
 *
 * @example
 * ```ts
 * const cid = cidFromPrefix(parseBlockPrefix(block.prefix), await sha256.digest(block.data))
 * if (!cid.equals(wanted)) throw new Error('not what we asked for')
 * ```
 */
export function cidFromPrefix (prefix: BlockPrefix, digest: Uint8Array): CID {
  const mh = createDigest(prefix.hashCode, digest)
  if (prefix.version === 0) {
    if (prefix.codec !== 0x70) throw new ShoalError(ErrorCode.PROTOCOL_ERROR, 'a CIDv0 block prefix must name dag-pb')
    return CID.createV0(mh as Parameters<typeof CID.createV0>[0])
  }
  return CID.createV1(prefix.codec, mh)
}
