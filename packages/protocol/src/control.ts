/**
 * Control API types: HTTP/1.1 + JSON over `<repo>/shoal.sock`, routes under /v1/.
 * The embedding API (`createShoal`) returns the same shapes.
 */
import type { ShoalErrorJSON } from './errors.js'

/** Name of the control socket inside the repo. */
export const CONTROL_SOCKET_NAME = 'shoal.sock'
/** Largest control request body accepted (64 KiB). */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024

/**
 * The control API's routes (docs/ARCHITECTURE.md has the table). Errors are
 * 4xx/5xx replies with an {@link ErrorBody}.
 *
 * @example
 * ```ts
 * // what `shoal status` does, with ControlClient from @shoal/cli
 * const status = await client.call<StatusInfo>('GET', ControlRoute.status)
 * ```
 */
export const ControlRoute = {
  /** GET: a {@link StatusInfo}. */
  status: '/v1/status',
  /** GET: `{ peers: PeerInfo[] }`, see {@link PeerInfo}. */
  peers: '/v1/peers',
  /** POST a {@link ConnectRequest}: a {@link ConnectResult}. */
  connect: '/v1/connect',
  /**
   * GET: `{ shares: ShareInfo[] }`. POST a {@link ShareRequest}: a
   * {@link ShareResult}, or {@link ShareEvent}s as NDJSON when the request
   * accepts {@link NDJSON_CONTENT_TYPE}. DELETE `/v1/shares/<cid>`: an
   * {@link UnshareResult}.
   */
  shares: '/v1/shares',
  /** GET: a {@link ListResult} (shares and downloads). */
  ls: '/v1/ls',
  /**
   * POST a {@link FetchRequest}: {@link FetchEvent}s as NDJSON, one per line,
   * ending with `done` or `error`; with `detach: true`, one {@link TransferInfo}
   * as soon as the download runs (it goes on in the daemon).
   */
  fetch: '/v1/fetch',
  /**
   * POST `/v1/downloads/<cid>/pause`: pause a download (a {@link TransferInfo}
   * with state `paused`); DELETE `/v1/downloads/<cid>`: cancel it, removing its
   * `.part` files and record (a {@link CancelResult}); GET
   * `/v1/downloads/<cid>/chunks`: its {@link ChunkMap}. NOT_FOUND when the
   * node has no download of that id.
   */
  downloads: '/v1/downloads',
  /** POST: a {@link StopResult}; the daemon then stops. */
  stop: '/v1/stop',
  /**
   * GET /v1/cat/<cid or ticket>[?path=<relative path>] streams the bytes of one
   * file of any share, every chunk verified against its hash, as
   * `application/octet-stream` with a content-length; chunks this node does not
   * hold are fetched first in file order with a read-ahead window (and kept). A
   * single `Range: bytes=a-b` answers 206 with those bytes. A directory share
   * needs `path`; a file share takes none. Unknown id: 404 NOT_FOUND or
   * NO_PROVIDERS; a bad path: 400 INVALID_PATH. A failure after the reply began
   * cuts the connection short of the content-length, so a client never mistakes
   * a partial file for a whole one.
   */
  cat: '/v1/cat',
  /**
   * GET /v1/files/<id or ticket>: a {@link FilesResult}, the files of a share
   * and how much of each this node holds, from its manifest alone (asked of
   * providers when this node has none).
   */
  files: '/v1/files',
  /**
   * GET: Server-Sent Events (`text/event-stream`), one {@link LiveEvent} per
   * event, for as long as the client stays: what the web UI shows, live.
   */
  events: '/v1/events',
  /** GET: a {@link UiAccess} (the web UI's address with its token); UI_UNAVAILABLE without a gateway. */
  ui: '/v1/ui'
} as const

/** Error body of every 4xx/5xx reply. */
export interface ErrorBody {
  /** The daemon's error: the client rebuilds a {@link ShoalError} from it. */
  error: ShoalErrorJSON
}

/** A snapshot of a node: `GET /v1/status`, `Shoal.status()`, `shoal status`. */
export interface StatusInfo {
  /** This node's peer id. */
  peerId: string
  /** Its listen addresses, each ending in `/p2p/<peer id>`. */
  addrs: string[]
  /** Absolute path of its repo. */
  repo: string
  /** The daemon's version. */
  version: string
  /** Open connections. */
  connections: number
  /** Distinct peers connected. */
  peers: number
  /** Shares it holds, shared and fetched, partial ones included. */
  shares: number
  /** Downloads running now. */
  transfers: TransferInfo[]
  /** Seconds since it started. */
  uptimeSeconds: number
  /** Peers in the DHT routing table. */
  dhtPeers: number
  /** 'lan': Shoal's own DHT; 'public': the Amino DHT (see the README). */
  network: 'lan' | 'public'
  /** True when this node relays for others (`--relay`). */
  relay: boolean
  /** Chunk payload bytes sent since the daemon started. */
  uploaded: number
  /** Chunk payload bytes received (verified) since the daemon started. */
  downloaded: number
  /** Chunk bytes sent per second, averaged over the last 3 s. */
  uploadRate: number
  /** Chunk bytes received per second, averaged over the last 3 s. */
  downloadRate: number
  /** Bandwidth caps in effect, bytes per second (0 = none). */
  limits: {
    /** All peers together, sending. */
    upload: number
    /** All peers together, receiving. */
    download: number
    /** To any one peer. */
    uploadPerPeer: number
    /** From any one peer. */
    downloadPerPeer: number
  }
  /** The Prometheus scrape URL (e.g. "http://127.0.0.1:9464/metrics"); absent when metrics are off. */
  metrics?: string
  /** The HTTP gateway's base URL (e.g. "http://127.0.0.1:8080"; content is under `/shoal/<id>/<path>`); absent when it is off. */
  gateway?: string
  /** Bitswap (IPFS) traffic since the daemon started. */
  bitswap?: BitswapStats
}

/** Bitswap traffic since the daemon started: {@link StatusInfo.bitswap}. */
export interface BitswapStats {
  /** Blocks sent to peers. */
  blocksSent: number
  /** Bytes of those blocks. */
  bytesSent: number
  /** Blocks received from peers, wanted or not. */
  blocksReceived: number
  /** Bytes of those blocks. */
  bytesReceived: number
  /** Of those, blocks no fetch wanted any more (a second copy, or never asked for). */
  duplicateBlocks: number
}

/** A connected peer: `{ peers }` of `GET /v1/peers`, `Shoal.peers()`, `shoal peers`. */
export interface PeerInfo {
  /** Its peer id. */
  peerId: string
  /** The remote address of each connection to it. */
  addrs: string[]
  /** Open connections to it. */
  connections: number
  /** Who dialed: it (`inbound`), we (`outbound`), or both for different connections (`mixed`). */
  direction: 'inbound' | 'outbound' | 'mixed'
  /** True when every connection to it goes through a relay (circuit relay v2), false when one is direct. */
  relayed: boolean
  /** Chunk payload bytes sent to this peer since the daemon started. */
  uploaded: number
  /** Chunk payload bytes received from this peer since the daemon started. */
  downloaded: number
  /** Chunk bytes per second sent to this peer, over the last 3 s. */
  uploadRate: number
  /** Chunk bytes per second received from this peer, over the last 3 s. */
  downloadRate: number
}

/** Body of `POST /v1/connect`. */
export interface ConnectRequest {
  /** The multiaddr to dial, usually ending in `/p2p/<peer id>`. */
  addr: string
}

/** Reply of `POST /v1/connect` and `Shoal.connect()`. */
export interface ConnectResult {
  /** The peer now connected. */
  peerId: string
}

/** Body of `POST /v1/shares`. */
export interface ShareRequest {
  /** Absolute path of the file or directory to share (the CLI resolves it). */
  path: string
}

/**
 * A new share: reply of `POST /v1/shares`, `Shoal.share()`, `shoal share --json`:
 * the {@link ShareInfo} fields that describe the content, plus a ticket.
 */
export interface ShareResult extends Pick<ShareInfo, 'cid' | 'name' | 'path' | 'kind' | 'size' | 'files' | 'chunks' | 'ipfs'> {
  /** A ticket (`shoal1...`): the content id plus this node's addresses and the name. */
  ticket: string
  /** Entries of a directory that are not in the share: symlinks (never followed), special files, names a manifest cannot hold. */
  skipped: SkippedEntries
}

/** What sharing a directory left out, in {@link ShareResult}. */
export interface SkippedEntries {
  /** How many entries in all. */
  count: number
  /** How many of them by {@link SkippedEntry.reason}. */
  byReason: Record<SkippedEntry['reason'], number>
  /** The first few (at most {@link MAX_SKIPPED_LISTED}), sorted by path. */
  first: SkippedEntry[]
}

/** One entry left out of a share. */
export interface SkippedEntry {
  /** Its path relative to the shared directory. */
  path: string
  /** `symlink`: a symbolic link (not followed); `special`: a socket, FIFO or device; `name`: a name a manifest cannot hold. */
  reason: 'symlink' | 'special' | 'name'
}

/** How many skipped entries a {@link ShareResult} lists by path. */
export const MAX_SKIPPED_LISTED = 10

/** A share this node holds: in {@link ListResult} and `GET /v1/shares`. */
export interface ShareInfo {
  /** Its content id. */
  cid: string
  /** The file or directory's name. */
  name: string
  /** Absolute path it is served from: what was shared, or where a fetch saved it. */
  path: string
  /** A single file or a directory tree. */
  kind: 'file' | 'dir'
  /** Total bytes of its files. */
  size: number
  /** How many files. */
  files: number
  /** How many chunks. */
  chunks: number
  /** True when the source changed on disk and can no longer be served. */
  stale: boolean
  /** Where it came from: shared from disk, or fetched. */
  origin: 'shared' | 'fetched'
  /** When it was shared, or when its fetch completed (ISO 8601). */
  sharedAt: string
  /** True when this node holds only part of it (`fetch --only`, or chunks `cat` and the gateway fetched); it serves the chunks it holds. */
  partial: boolean
  /** Bytes this node holds (`size` unless partial). */
  held: number
  /**
   * Its UnixFS CID (`unixfs-v1-2025` profile, or the CID it was fetched by
   * from IPFS): what Kubo and Helia give the same bytes, and what `ipfs cat`
   * asks this node for. Absent only while it is being computed or when it
   * could not be (the daemon logs why).
   */
  ipfs?: string
  /** A ticket for it: the content id with this node's addresses now (as `shoal share` printed); always set in {@link ListResult} and `GET /v1/shares`. */
  ticket?: string
}

/**
 * A download. Running ones (`active`, briefly `done`) carry live figures
 * (`rate`, `peers`); one recorded but not running carries what it holds and
 * zeros for those: `paused` (by `shoal pause`, Ctrl-C on `shoal fetch`, or
 * interrupted by a crash or stop — those resume at the next start), `failed`
 * (with its `error`).
 */
export interface TransferInfo {
  /** The content id being fetched. */
  cid: string
  /** Where it is saved (the `.part` file beside it holds the bytes until done). */
  path: string
  /** See the interface comment. */
  state: 'active' | 'paused' | 'failed' | 'done'
  /** Total bytes. */
  size: number
  /** Bytes received and verified so far. */
  received: number
  /** Chunks in all. */
  chunks: number
  /** Chunks received and verified. */
  chunksDone: number
  /** Peers it is fetching from now. */
  peers: number
  /** Bytes per second over the last 5 s. */
  rate: number
  /** Why it failed (`failed` only). */
  error?: ShoalErrorJSON
}

/** What a node holds: `GET /v1/ls`, `Shoal.list()`, `shoal ls`. */
export interface ListResult {
  /** Shared and fetched content it serves. */
  shares: ShareInfo[]
  /** Downloads running, interrupted or failed. */
  downloads: TransferInfo[]
}

/** Body of `POST /v1/fetch`. */
export interface FetchRequest {
  /** Content id or ticket. */
  id: string
  /** Output path; absolute (the CLI resolves it). A trailing `/` means "into this directory". */
  out?: string
  /** Replace an existing output path. */
  force?: boolean
  /** Seconds to look for providers before giving up. */
  timeout?: number
  /** The client's working directory: without `out`, a new download is saved as `<cwd>/<name>` (a paused one resumes where it is). */
  cwd?: string
  /** Reply at once with a {@link TransferInfo} once the download runs, instead of streaming its events. */
  detach?: boolean
  /**
   * Fetch only the files these patterns select (paths or globs inside the
   * share, see `selectFiles`), in their place under `out`; added to what an
   * earlier selective fetch of the same id selected. A pattern that matches
   * nothing fails the fetch with NO_MATCH.
   */
  only?: string[]
  /** For a UnixFS CID: multiaddrs of IPFS providers to dial (at most 64). */
  peers?: string[]
}

/** One file of a share in a {@link FilesResult}. */
export interface FileEntry {
  /** Its path inside the share ('' for a single-file share). */
  path: string
  /** Its size in bytes. */
  size: number
  /** Bytes of it this node holds, verified. */
  held: number
  /** Its UnixFS CID (`unixfs-v1-2025`), what `ipfs cat` asks for; present when this node has laid the share out. */
  ipfs?: string
}

/** Reply of `GET /v1/files/<id>`, `Shoal.files()`, `shoal files --json`. */
export interface FilesResult {
  /** The content id. */
  cid: string
  /** The share's suggested name (the shared file or directory's name). */
  name: string
  /** A single file or a directory tree. */
  kind: 'file' | 'dir'
  /** Total bytes (of the one file, when asked by a file's UnixFS CID). */
  size: number
  /** Bytes this node holds (of the one file, likewise). */
  held: number
  /** The share's UnixFS CID, when this node has laid it out. */
  ipfs?: string
  /** Every file, in manifest order (the one file, when asked by a file's UnixFS CID). */
  files: FileEntry[]
  /** Empty directories of the share. */
  dirs: string[]
}

/** Reply of DELETE `/v1/downloads/<cid>` and `Shoal.cancel()`. */
export interface CancelResult {
  /** The content id whose download was cancelled. */
  cid: string
  /** Always true: an id without a download is a NOT_FOUND error instead. */
  cancelled: true
}

/** Reply of `POST /v1/stop`: the daemon stops right after sending it. */
export interface StopResult {
  /** Always true. */
  stopping: true
}

/** Reply of DELETE `/v1/shares/<cid>` and `Shoal.unshare()`. */
export interface UnshareResult {
  /** The content id no longer shared. */
  cid: string
  /** Always true: an id that was not shared is a NOT_FOUND error instead. */
  removed: true
}

/** Content type of the streaming replies (fetch, share with progress). */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson'
