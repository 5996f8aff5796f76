/** Protocol ids and limits that two Shoal parties must agree on. */

/** Shoal's version: the packages', the daemon's in `status` and the CLI's `--version`. */
export const SHOAL_VERSION = '0.1.0'

/** The multiaddr protocol code of `/p2p/<peer id>` (multicodec `p2p`), to strip a peer id from an address. */
export const P2P_MULTIADDR_CODE = 421

/** First segment of every Shoal libp2p protocol id. */
export const PROTOCOL_PREFIX = '/shoal'
/** Manifest exchange: one request, one response, then close. */
export const MANIFEST_PROTOCOL = `${PROTOCOL_PREFIX}/manifest/1.0.0`
/**
 * Chunk transfer: one long-lived stream per peer and root. 2.0.0 added chunk
 * ranges (`count`) to HAVE, REQUEST, BLOCK, CANCEL and NOT_FOUND, so that
 * many small chunks travel in one message (docs/PROTOCOL.md 10).
 */
export const XFER_PROTOCOL = `${PROTOCOL_PREFIX}/xfer/2.0.0`

/** Manifest format version written into every manifest. */
export const MANIFEST_VERSION = 1

/** Smallest chunk size a manifest may declare (256 KiB). */
export const MIN_CHUNK_SIZE = 256 * 1024
/** Largest chunk size a manifest may declare (4 MiB). */
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024
/** Chunk size used when sharing, unless told otherwise (1 MiB). */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024

/** Length of a chunk hash (SHA-256) in bytes. */
export const CHUNK_HASH_LENGTH = 32

/** Largest encoded manifest accepted from anyone (32 MiB: ~1M chunks). */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024
/** Most files and directories one manifest may list. */
export const MAX_MANIFEST_ENTRIES = 1_000_000
/** Longest relative path in a manifest, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096
/** Longest single path segment, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255

/** Largest xfer frame: one chunk at the largest size plus message overhead. */
export const MAX_XFER_FRAME_BYTES = MAX_CHUNK_SIZE + 1024
/** Largest manifest-protocol frame. */
export const MAX_MANIFEST_FRAME_BYTES = MAX_MANIFEST_BYTES + 4096

/** Ticket strings start with this. */
export const TICKET_PREFIX = 'shoal1'
/** Longest ticket accepted (a ticket carries a handful of addresses). */
export const MAX_TICKET_LENGTH = 8192
/** Most addresses carried in a ticket. */
export const MAX_TICKET_ADDRS = 32

/** Most peers one PEERS (peer exchange) message may carry. */
export const MAX_PEX_PEERS = 50
