import { CID } from 'multiformats/cid'
import { ErrorCode, ShoalError } from './errors.js'

/**
 * What Shoal speaks of IPFS: UnixFS content ids under the `unixfs-v1-2025`
 * profile (IPIP-0499) and Bitswap. docs/PROTOCOL.md section 14 is the prose.
 */

/** Bitswap 1.2.0: want-have, want-block, dont-have. */
export const BITSWAP_120 = '/ipfs/bitswap/1.2.0'
/** Bitswap 1.1.0: blocks with CID prefixes, no presences. */
export const BITSWAP_110 = '/ipfs/bitswap/1.1.0'
/** The Bitswap spec's largest block (2 MiB): a larger one is neither sent nor accepted. */
export const MAX_BITSWAP_BLOCK_BYTES = 2 * 1024 * 1024
/** The largest Bitswap message, sent or accepted (4 MiB, as Kubo and Helia). */
export const MAX_BITSWAP_MESSAGE_BYTES = 4 * 1024 * 1024

/** The UnixFS profile every share's IPFS CID is computed under. */
export const UNIXFS_PROFILE = 'unixfs-v1-2025'
/** The profile's chunk size: 1 MiB raw leaves, the same bytes as Shoal's default chunks. */
export const UNIXFS_CHUNK_SIZE = 1024 * 1024
/** The profile's widest file node: 1024 links (a balanced DAG). */
export const UNIXFS_MAX_LINKS = 1024
/** The profile's HAMT threshold: a directory whose flat node would exceed 256 KiB is sharded. */
export const UNIXFS_HAMT_THRESHOLD_BYTES = 256 * 1024
/** The profile's HAMT fanout: 256 buckets per shard node. */
export const UNIXFS_HAMT_FANOUT = 256

/** Multicodec of raw blocks (UnixFS raw leaves). */
export const RAW_CODE = 0x55
/** Multicodec of dag-pb blocks (UnixFS nodes). */
export const DAG_PB_CODE = 0x70
/** Multicodec of dag-cbor blocks (Shoal manifests). */
export const DAG_CBOR_CODE = 0x71
/** Multihash code of sha2-256, the only hash Shoal verifies. */
export const SHA2_256_CODE = 0x12

/**
 * Parse an IPFS content id for UnixFS content: CIDv0 (`Qm…`) or CIDv1 with
 * codec raw or dag-pb and a sha2-256 digest. Anything else is INVALID_ID.
 *
 * @example
 * ```ts
 * parseIpfsCid('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku') // the empty file, a raw leaf
 * parseIpfsCid('QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH')              // CIDv0: dag-pb
 * ```
 */
export function parseIpfsCid (text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text.trim())
  } catch (err) {
    throw new ShoalError(ErrorCode.INVALID_ID, `not a content id: ${JSON.stringify(clip(text))}`, { cause: err })
  }
  return checkIpfsCid(cid)
}

/**
 * Check that `cid` names UnixFS content Shoal can fetch and verify
 * (raw or dag-pb, sha2-256 with a 32-byte digest); INVALID_ID otherwise.
 *
 * @example
 * ```ts
 * checkIpfsCid(CID.decode(bytes))
 * ```
 */
export function checkIpfsCid (cid: CID): CID {
  if (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE) {
    throw new ShoalError(ErrorCode.INVALID_ID, `${clip(cid.toString())} is not UnixFS content (codec 0x${cid.code.toString(16)}; raw and dag-pb are)`)
  }
  if (cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32) {
    throw new ShoalError(ErrorCode.INVALID_ID, `${clip(cid.toString())} uses a hash Shoal cannot verify (multihash 0x${cid.multihash.code.toString(16)}; sha2-256 only)`)
  }
  return cid
}

/**
 * True when `text` parses as a CID that names UnixFS content (raw or dag-pb,
 * any version), as opposed to a Shoal content id (dag-cbor) or a ticket.
 *
 * @example
 * ```ts
 * isIpfsId('QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH')              // true
 * isIpfsId('bafyreifo5wytmardhyskpukfkjwbfzfeklzrdwyd6dt7avmanix7kodupm') // false: a Shoal manifest
 * ```
 */
export function isIpfsId (text: string): boolean {
  try {
    const cid = CID.parse(text.trim())
    return cid.code === RAW_CODE || cid.code === DAG_PB_CODE
  } catch {
    return false
  }
}

function clip (text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
