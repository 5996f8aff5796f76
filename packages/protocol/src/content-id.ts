import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import * as dagCbor from '@ipld/dag-cbor'
import { ErrorCode, ShoalError } from './errors.js'

/** SHA-256 multihash code. */
const SHA256_CODE = 0x12

/**
 * The content id of encoded manifest bytes: CIDv1, dag-cbor, sha2-256.
 *
 * @example
 * ```ts
 * const cid = await contentIdOf(encodeManifest(manifest))
 * cid.toString() // 'bafyrei...'
 * ```
 */
export async function contentIdOf (manifestBytes: Uint8Array): Promise<CID> {
  const digest = await sha256.digest(manifestBytes)
  return CID.createV1(dagCbor.code, digest)
}

/**
 * True when `bytes` hash to `cid`: check a manifest from a peer before trusting it.
 *
 * @example
 * ```ts
 * if (!(await manifestMatches(cid, bytes))) throw new ShoalError(ErrorCode.HASH_MISMATCH, 'manifest does not match its content id')
 * ```
 */
export async function manifestMatches (cid: CID, manifestBytes: Uint8Array): Promise<boolean> {
  const actual = await contentIdOf(manifestBytes)
  return actual.equals(cid)
}

/**
 * Parse a content id string (base32 CIDv1; surrounding whitespace is
 * ignored). Rejects anything that is not a Shoal root, a CIDv1 with the
 * dag-cbor codec and a sha2-256 digest, with INVALID_ID.
 *
 * @example
 * ```ts
 * const cid = parseContentId('bafyreih2gpsqiwe3y6ev2afhvjxcs5ze3nt3y5kl65jzwmkzilxlyh5bum')
 * parseContentId('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG') // throws ShoalError INVALID_ID (CIDv0)
 * ```
 */
export function parseContentId (text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text.trim())
  } catch (err) {
    throw new ShoalError(ErrorCode.INVALID_ID, `not a content id: ${JSON.stringify(truncate(text))}`, { cause: err })
  }
  return checkContentId(cid)
}

/**
 * Decode a content id from its binary form (as tickets and wire messages
 * carry it); INVALID_ID unless it is a Shoal root.
 *
 * @example
 * ```ts
 * contentIdFromBytes(cid.bytes).equals(cid) // true
 * ```
 */
export function contentIdFromBytes (bytes: Uint8Array): CID {
  let cid: CID
  try {
    cid = CID.decode(bytes)
  } catch (err) {
    throw new ShoalError(ErrorCode.INVALID_ID, 'not a content id (binary)', { cause: err })
  }
  return checkContentId(cid)
}

function checkContentId (cid: CID): CID {
  if (cid.version !== 1 || cid.code !== dagCbor.code || cid.multihash.code !== SHA256_CODE || cid.multihash.size !== 32) {
    throw new ShoalError(ErrorCode.INVALID_ID, `not a Shoal content id (expected CIDv1 dag-cbor sha2-256): ${truncate(cid.toString())}`)
  }
  return cid
}

function truncate (text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}
