/**
 * @shoal/protocol — everything two Shoal parties must agree on, with no I/O:
 * content ids and manifests, chunk numbering, tickets, the peer wire messages
 * and their framing, the control API's routes and types, error codes and the
 * `config.json` schema. docs/PROTOCOL.md is the prose for the same rules.
 *
 * @example
 * ```ts
 * import { decodeTicket, isTicket, parseContentId, ShoalError } from '@shoal/protocol'
 *
 * // what `shoal fetch` checks before it asks the daemon anything
 * const cid = isTicket(input) ? decodeTicket(input).cid : parseContentId(input)
 * ```
 *
 * @packageDocumentation
 */
export * from './constants.js'
export * from './errors.js'
export { contentIdOf, manifestMatches, parseContentId, contentIdFromBytes } from './content-id.js'
export type { Manifest, ManifestFile } from './manifest.js'
export { encodeManifest, decodeManifest, validateManifest, normalizeManifest, sealManifest, totalSizeOf } from './manifest.js'
export { encodedManifestSize, type SizedEntry } from './manifest-cbor.js'
export { validateRelativePath, ancestorsOf, comparePaths } from './paths.js'
export { ChunkLayout, chunkCountOf } from './chunking.js'
export type { ChunkLocation, ChunkRange } from './chunking.js'
export { Bitfield } from './bitfield.js'
export type { Ticket } from './ticket.js'
export { encodeTicket, decodeTicket, isTicket } from './ticket.js'
export { frame, readFrames, FrameDecoder } from './framing.js'
export type { XferFields } from './wire.js'
export { XferMessage, ManifestRequest, ManifestResponse, encodeXfer, encodeBlockFrame, decodeBlockFrame, decodeXfer, chunkRange, decodeManifestRequest, decodeManifestResponse } from './wire.js'
export * from './control.js'
export * from './events.js'
export * from './live.js'
export * from './config.js'
export { parseRate, isRate } from './rates.js'
export { normalizeGlob, globToRegExp, selectFiles, MAX_GLOB_LENGTH } from './glob.js'
export type { GlobSelection } from './glob.js'
export { CID } from 'multiformats/cid'
export * from './ipfs.js'
export { BitswapMessage, MAX_BITSWAP_ENTRIES, MAX_BITSWAP_BLOCKS, MAX_BITSWAP_PRESENCES, encodeBitswap, decodeBitswap, blockPrefix, parseBlockPrefix, cidFromPrefix } from './bitswap.js'
export type { BlockPrefix } from './bitswap.js'
