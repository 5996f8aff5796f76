import type {
  ConnectResult, FetchEvent, ListResult, PeerInfo, ShareResult, StatusInfo, UnshareResult
} from '@shoal/protocol'

/** Options for {@link createShoal}. */
export interface ShoalOptions {
  /** Repo directory (identity, database, lock, control socket). @default $SHOAL_REPO or ~/.shoal */
  repo?: string
  /** Multiaddrs to listen on. @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** Serve the control API on `<repo>/shoal.sock`. @default true */
  controlSocket?: boolean
  /** Chunk size for new shares, a power of two from 256 KiB to 4 MiB. @default 1048576 */
  chunkSize?: number
  /** Multiaddrs dialed at start to join a swarm. @default [] */
  bootstrap?: string[]
  /** Find peers on the LAN with mDNS. @default true */
  mdns?: boolean
  /** 'lan': private swarm, DHT keeps private/loopback addresses; 'public': kad-dht's filtering. @default 'lan' */
  network?: 'lan' | 'public'
  /** Cap on chunk bytes sent per second, all peers together; a rate string ("10MiB/s") or bytes/s; 0 = unlimited. @default 0 */
  maxUpload?: string | number
  /** Cap on chunk bytes received per second, all peers together. @default 0 */
  maxDownload?: string | number
  /** Cap on chunk bytes sent per second to any one peer. @default 0 */
  maxUploadPerPeer?: string | number
  /** Cap on chunk bytes received per second from any one peer. @default 0 */
  maxDownloadPerPeer?: string | number
  /** Act as a circuit relay v2 server for peers that cannot be dialed directly. @default false */
  relay?: boolean
  /** Ask the home router for a port mapping with UPnP. @default true in public mode, false in lan mode */
  upnp?: boolean
  /** Serve Prometheus metrics over HTTP on this "host:port"; off when unset. */
  metrics?: string
  /** Fail a download when no chunk arrived for this long (ms). @default 30000 */
  stallTimeoutMs?: number
  /** How long a fetch looks for providers before NO_PROVIDERS (ms). @default 20000 */
  resolveTimeoutMs?: number
  /** Called when a client asks the daemon to stop (`shoal stop`). @default stops the node */
  onStopRequested?: () => void
  /** Called when a peer connects or its last connection closes. */
  onPeerEvent?: (event: { type: 'peer:connect' | 'peer:disconnect', peerId: string }) => void
}

export interface ShareOptions {
  signal?: AbortSignal
  /** Hashing progress. */
  onProgress?: (progress: { hashedBytes: number, totalBytes: number, files: number }) => void
}

export interface FetchCallOptions {
  /** Absolute output path; a trailing `/` saves into that directory. @default the current directory */
  out?: string
  /** Replace an existing output. @default false */
  force?: boolean
  /** Cancels the fetch; progress is kept for a later resume. */
  signal?: AbortSignal
  /** Typed progress events (the same objects the control API streams). */
  onProgress?: (event: FetchEvent) => void
  /** How long to look for providers before NO_PROVIDERS (ms). @default the node's resolveTimeoutMs */
  resolveTimeoutMs?: number
}

export interface FetchResult {
  cid: string
  path: string
  size: number
  seconds: number
}

/** One file of a share, as verified chunks; iterate it once. */
export interface CatStream extends AsyncIterable<Uint8Array> {
  /** The file's path inside the share ('' for a file share). */
  readonly path: string
  /** Its size in bytes: the sum of the chunks' lengths. */
  readonly size: number
}

/** A running Shoal node. The control API exposes exactly these operations. */
export interface Shoal {
  /** This node's peer id. */
  readonly peerId: string
  /** The repo directory in use. */
  readonly repo: string
  start(): Promise<void>
  stop(): Promise<void>
  /** Share a file or directory in place; returns its content id and a ticket. */
  share(path: string, options?: ShareOptions): Promise<ShareResult>
  /** Download by content id or ticket; resolves once every byte is verified and in place. */
  fetch(id: string, options?: FetchCallOptions): Promise<FetchResult>
  status(): Promise<StatusInfo>
  peers(): Promise<PeerInfo[]>
  /** Dial a multiaddr. */
  connect(addr: string): Promise<ConnectResult>
  list(): Promise<ListResult>
  unshare(cid: string): Promise<UnshareResult>
  /**
   * The bytes of one file of a share this node holds (shared or fetched),
   * chunk by chunk, each verified against its hash as it is read: never the
   * whole file in memory. `path` names the file inside a directory share and
   * must be omitted for a file share. Checks the id and path at once: throws
   * INVALID_ID, NOT_FOUND (not held, or stale) or INVALID_PATH.
   */
  cat(cid: string, path?: string): CatStream
  /** Listen addresses including the /p2p/ suffix. */
  addrs(): string[]
}
