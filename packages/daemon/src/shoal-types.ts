import type {
  CancelResult, ConnectResult, FetchEvent, FilesResult, ListResult, PeerInfo, RepoConfig, ShareResult, StatusInfo, TransferInfo, UnshareResult
} from '@shoal/protocol'
import type { LiveViews } from './live-views.js'

/**
 * Options for {@link createShoal}; all optional. Those `<repo>/config.json`
 * can hold too (`shoal config`: listen, bootstrap, mdns, network, the rate
 * caps, relay, upnp, metrics) come from that file when left out here, else
 * take the default shown: options override the file, as flags do for
 * `shoal daemon`.
 *
 * @example
 * ```ts
 * const node = await createShoal({
 *   repo: '/var/lib/myapp/shoal',
 *   listen: ['/ip4/0.0.0.0/tcp/4001'],
 *   bootstrap: ['/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW...'],
 *   maxUpload: '5MiB/s',
 *   controlSocket: false // in-process use only: no `shoal` CLI access
 * })
 * ```
 */
export interface ShoalOptions extends RepoConfig {
  /** Repo directory (identity, database, lock, control socket). @default $SHOAL_REPO or ~/.shoal */
  repo?: string
  /** Serve the control API on `<repo>/shoal.sock`. @default true */
  controlSocket?: boolean
  /** Chunk size for new shares, a power of two from 256 KiB to 4 MiB. @default 1048576 */
  chunkSize?: number
  /** When relaying: the bytes one relayed connection may carry, both directions together. @default 64 MiB */
  relayDataLimit?: number
  /** Fail a download when no chunk arrived for this long (ms). @default 30000 */
  stallTimeoutMs?: number
  /** How long a fetch looks for providers before NO_PROVIDERS (ms). @default 20000 */
  resolveTimeoutMs?: number
  /** How long a reader of content not held (`cat`, the gateway) waits for one chunk before TIMEOUT (ms; the gateway answers 504). @default 30000 */
  readTimeoutMs?: number
  /** A root read this recently stays in the reader cache whatever `maxCache` says (ms). @default 60000 */
  cacheGraceMs?: number
  /** Called when a client asks the daemon to stop (`shoal stop`). @default stops the node */
  onStopRequested?: () => void
  /** Called when a peer connects or its last connection closes. */
  onPeerEvent?: (event: { type: 'peer:connect' | 'peer:disconnect', peerId: string }) => void
  /** Called when this node's addresses change, e.g. a relay reservation adds a /p2p-circuit address. */
  onAddressesChanged?: (addrs: string[]) => void
}

/** Options for {@link Shoal.share}. */
export interface ShareOptions {
  /** Stops hashing; `share` then rejects with the signal's reason and nothing is shared. */
  signal?: AbortSignal
  /**
   * Hashing progress, called as bytes are read: `hashedBytes` of `totalBytes`
   * in `files` files. The same object is updated between calls: copy it to keep it.
   */
  onProgress?: (progress: { hashedBytes: number, totalBytes: number, files: number }) => void
}

/** Options for {@link Shoal.fetch}. */
export interface FetchCallOptions {
  /**
   * Absolute output path (INVALID_PATH otherwise); a trailing `/` saves into
   * that directory under the share's name. The bytes go to `<out>.part` and are
   * renamed to `out` once all are verified.
   * @default `<cwd>/<name>`; or, for an id with a paused or interrupted download, where that download is
   */
  out?: string
  /** The directory `<name>` goes into when `out` is not given. @default process.cwd() */
  cwd?: string
  /** Replace an existing output (and a `.part` file this node does not know) instead of failing with PATH_EXISTS. @default false */
  force?: boolean
  /**
   * Pauses the download ({@link Shoal.pause}): the fetch rejects with ABORTED,
   * what was verified is kept, and a later fetch of the same id resumes it.
   */
  signal?: AbortSignal
  /**
   * Typed progress events, the objects `POST /v1/fetch` streams and
   * `shoal fetch --json` prints: `resolving`, `manifest`, `progress` (every
   * 250 ms and once at the end), then `done`.
   */
  onProgress?: (event: FetchEvent) => void
  /** How long to look for providers before NO_PROVIDERS (ms). @default the node's resolveTimeoutMs */
  resolveTimeoutMs?: number
  /**
   * Fetch only the files these patterns select: paths or globs inside a
   * directory share (`*`, `?`, `**`, `[abc]`, `{a,b}`; a directory selects
   * everything below it), saved in their place under `out`. Added to what an
   * earlier selective fetch of the id selected. A pattern that matches nothing
   * throws NO_MATCH; on a single-file share, BAD_REQUEST.
   */
  only?: string[]
  /** Multiaddrs (ending in `/p2p/<peer id>`) of IPFS providers to dial for a UnixFS CID (`shoal fetch --peer`). @default none */
  peers?: string[]
}

/** Options for {@link Shoal.cat}. */
export interface CatOptions {
  /** First byte to read. @default 0 */
  start?: number
  /** Read up to this byte, exclusive. @default the file's size */
  end?: number
  /** Only what this node holds: throws NOT_FOUND rather than fetching anything. @default false */
  local?: boolean
  /** Stops reading (and fetching for this reader). */
  signal?: AbortSignal
  /** Bytes fetched ahead of the one being read, for content not held: more keeps a fast link busy, less wastes less when the reader stops early. @default 16 MiB (`READ_AHEAD_BYTES`) */
  readAheadBytes?: number
  /** How long to look for providers of content whose manifest this node lacks (ms). @default the node's resolveTimeoutMs */
  resolveTimeoutMs?: number
}

/** Options for {@link Shoal.files}. */
export interface FilesOptions {
  /** Only what this node knows: throws NOT_FOUND rather than asking providers for the manifest. @default false */
  local?: boolean
  /** Stops looking for the manifest. */
  signal?: AbortSignal
  /** How long to look for providers of the manifest (ms). @default the node's resolveTimeoutMs */
  resolveTimeoutMs?: number
  /** With the share's and each file's UnixFS CID (`ipfs`), when the node has laid the share out. @default true */
  ipfsCids?: boolean
}

/** What {@link Shoal.fetch} resolves with: the copy is complete and verified. */
export interface FetchResult {
  /** The content id fetched (also when fetched by ticket). */
  cid: string
  /** Absolute path of the saved file or directory. */
  path: string
  /** Total bytes of all its files. */
  size: number
  /** How long the fetch took, in seconds. */
  seconds: number
}

/**
 * One file of a share, as verified chunks; iterate it once. See {@link Shoal.cat}.
 *
 * @example
 * ```ts
 * import { createWriteStream } from 'node:fs'
 * import { pipeline } from 'node:stream/promises'
 *
 * const file = node.cat(cid, 'docs/readme.txt')
 * console.log(`${file.path}: ${file.size} bytes`)
 * await pipeline(file, createWriteStream('readme.txt'))
 * ```
 */
export interface CatStream extends AsyncIterable<Uint8Array> {
  /** The file's path inside the share ('' for a file share). */
  readonly path: string
  /** Its name: the share's name for a file share, else the last segment of `path`. */
  readonly name: string
  /** Its size in bytes: the sum of the chunks' lengths. */
  readonly size: number
  /** The first byte the stream yields (`start` of the options). */
  readonly start: number
  /** How many bytes the stream yields. */
  readonly length: number
}

/**
 * A Shoal node, made by {@link createShoal}. The control API (and so the
 * `shoal` CLI) exposes exactly these operations. Every method but `start` and
 * `stop` needs a started node and throws {@link ShoalError} NOT_STARTED
 * otherwise; failures are `ShoalError`s with a stable `code` (docs/ERRORS.md).
 *
 * @example
 * ```ts
 * const node = await createShoal({ repo: '/tmp/shoal-a', controlSocket: false })
 * await node.start()
 * try {
 *   const { ticket } = await node.share('./photos')
 *   console.log(`fetch it elsewhere with: shoal fetch ${ticket}`)
 *   const { peers } = await node.status()
 *   console.log(`${peers} peers connected`)
 * } finally {
 *   await node.stop()
 * }
 * ```
 */
export interface Shoal extends LiveViews {
  /** This node's peer id (from `<repo>/identity.key`); throws NOT_STARTED before {@link Shoal.start}. */
  readonly peerId: string
  /** The repo directory in use: the `repo` option, else $SHOAL_REPO, else ~/.shoal. */
  readonly repo: string
  /**
   * Start the node: open and lock the repo (creating it, and the peer
   * identity, on first run), start libp2p and the control socket, dial the
   * bootstrap peers, announce the shares it holds and resume interrupted
   * downloads. Does nothing when already started. Throws REPO_LOCKED when
   * another process uses the repo, INVALID_ADDRESS when it cannot listen.
   *
   * @example
   * ```ts
   * const node = await createShoal({ listen: ['/ip4/127.0.0.1/tcp/0'] })
   * await node.start()
   * console.log(node.peerId, node.addrs())
   * ```
   */
  start(): Promise<void>
  /**
   * Stop the node, parts in reverse order: running downloads are aborted but
   * stay recorded, so the next start resumes them; then the control socket,
   * libp2p, open files, the database and the repo lock. Calling it again, or
   * while it runs, waits for the same stop.
   *
   * @example
   * ```ts
   * process.once('SIGINT', () => { void node.stop() })
   * ```
   */
  stop(): Promise<void>
  /**
   * Share a file or directory in place (nothing is copied): hash it into a
   * manifest, serve it from where it is, and announce it. `path` is resolved
   * against the current directory. Resolves with the content id and a ticket
   * (the id plus this node's addresses). Throws INVALID_PATH for a missing
   * path or one that is not a regular file or directory. A shared file that
   * later changes on disk is no longer served (`stale` in {@link Shoal.list}).
   *
   * @example
   * ```ts
   * const shared = await node.share('./video.mp4', {
   *   onProgress: ({ hashedBytes, totalBytes }) => { console.log(`hashing ${hashedBytes}/${totalBytes}`) },
   *   signal: AbortSignal.timeout(60_000)
   * })
   * console.log(shared.cid, shared.ticket, `${shared.chunks} chunks`)
   * ```
   */
  share(path: string, options?: ShareOptions): Promise<ShareResult>
  /**
   * Download by content id (`bafy...`: providers are looked for among the
   * connected peers, which mDNS finds on a LAN, and through the DHT) or by
   * ticket (`shoal1...`: the sharer's addresses too). Resolves once every chunk is verified against the manifest and the
   * result is in place; from then on this node serves it too. A fetch of an id
   * already being fetched joins that download. Throws INVALID_ID or
   * INVALID_TICKET, INVALID_PATH, PATH_EXISTS, NO_PROVIDERS, ABORTED
   * (`signal`) among others.
   *
   * @example
   * ```ts
   * const controller = new AbortController()
   * process.once('SIGINT', () => { controller.abort() }) // progress is kept: fetch again to resume
   * const result = await node.fetch('shoal1...', {
   *   out: '/home/me/Downloads/',
   *   signal: controller.signal,
   *   onProgress: (event) => {
   *     if (event.type === 'progress') console.log(`${event.chunksDone}/${event.chunks} chunks from ${event.peers} peers`)
   *   }
   * })
   * console.log(`saved ${result.path} (${result.size} bytes in ${result.seconds} s)`)
   * ```
   */
  fetch(id: string, options?: FetchCallOptions): Promise<FetchResult>
  /**
   * Start or resume a download and resolve as soon as it runs (its manifest
   * fetched and verified, its record stored), with its figures; it goes on in
   * the node (`shoal fetch --detach`). Fails as {@link Shoal.fetch} does up to
   * that point; later failures are recorded (`failed` in {@link Shoal.list}).
   *
   * @example
   * ```ts
   * const { cid, path } = await node.startFetch(ticket, { out: '/data/inbox/' })
   * console.log(`downloading ${cid} into ${path}`)
   * ```
   */
  startFetch(id: string, options?: Omit<FetchCallOptions, 'signal'>): Promise<TransferInfo>
  /**
   * Pause a download: it stops, keeps every verified chunk, and stays paused
   * (across restarts too) until fetched again, which resumes it. A running
   * fetch of it rejects with ABORTED. Throws NOT_FOUND when the node has no
   * download of `cid`.
   *
   * @example
   * ```ts
   * const info = await node.pause(cid)
   * console.log(`${info.received} of ${info.size} bytes kept`)
   * ```
   */
  pause(cid: string): Promise<TransferInfo>
  /**
   * Cancel a download: stop it and remove its `.part` files and its record.
   * Throws NOT_FOUND when the node has no download of `cid`.
   *
   * @example
   * ```ts
   * await node.cancel(cid)
   * ```
   */
  cancel(cid: string): Promise<CancelResult>
  /**
   * A snapshot of the node: identity and addresses, connection and peer
   * counts, shares, downloads in progress, traffic totals and rates, caps.
   *
   * @example
   * ```ts
   * const s = await node.status()
   * console.log(`${s.peerId}: ${s.peers} peers, ${s.shares} shares, up ${s.uptimeSeconds} s`)
   * ```
   */
  status(): Promise<StatusInfo>
  /**
   * The peers connected now, one entry per peer (several connections merged),
   * with the chunk bytes traded with each.
   *
   * @example
   * ```ts
   * for (const p of await node.peers()) console.log(p.peerId, p.direction, p.downloaded)
   * ```
   */
  peers(): Promise<PeerInfo[]>
  /**
   * Dial a multiaddr (usually ending in `/p2p/<peer id>`), giving up after 15 s.
   * Throws INVALID_ADDRESS when `addr` is not a multiaddr, DIAL_FAILED when
   * the dial fails.
   *
   * @example
   * ```ts
   * const { peerId } = await node.connect('/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW...')
   * ```
   */
  connect(addr: string): Promise<ConnectResult>
  /**
   * What this node holds: its shares (shared from disk or fetched) and its
   * downloads, running or not (`paused` ones stay so until fetched again,
   * `failed` ones carry their error), with how much of each is held.
   *
   * @example
   * ```ts
   * const { shares, downloads } = await node.list()
   * for (const s of shares) console.log(s.cid, s.name, s.origin, s.stale ? '(stale)' : '')
   * ```
   */
  list(): Promise<ListResult>
  /**
   * Stop serving a share and withdraw its announcement; its files stay on
   * disk. Throws INVALID_ID for a malformed id, NOT_FOUND when it is not shared.
   *
   * @example
   * ```ts
   * await node.unshare(shared.cid)
   * ```
   */
  unshare(cid: string): Promise<UnshareResult>
  /**
   * The bytes of one file of any share (content id or ticket), or a byte
   * range of it, in order, each chunk verified against its hash: never the
   * whole file in memory. Chunks this node does not hold are fetched first,
   * the one being read and then a read-ahead window, and kept (served to
   * peers, reused by a later fetch). `path` names the file inside a
   * directory share and must be omitted for a file share. `id` may also be
   * the UnixFS CID of a share this node holds, or of one of its files (no
   * `path` then). Resolves once the manifest is known and the path checked:
   * throws INVALID_ID, INVALID_PATH, NO_PROVIDERS (nobody has the manifest),
   * NOT_FOUND (`local` and not held; an IPFS CID not held here);
   * while iterating, TIMEOUT when a chunk does not arrive.
   *
   * @example
   * ```ts
   * let text = ''
   * for await (const chunk of await node.cat(cid, 'notes.txt')) text += new TextDecoder().decode(chunk, { stream: true })
   * const middle = await node.cat(videoCid, undefined, { start: 1 << 29, end: (1 << 29) + 65536 })
   * ```
   */
  cat(id: string, path?: string, options?: CatOptions): Promise<CatStream>
  /**
   * The files of a share (content id or ticket) and how many bytes of each
   * this node holds, from its manifest alone: asked of providers when this
   * node has none (nothing else is fetched). Also the UnixFS CID of a share
   * held here, or of one of its files (that file alone). Throws INVALID_ID,
   * NO_PROVIDERS, NOT_FOUND (an IPFS CID not held here).
   *
   * @example
   * ```ts
   * const { files } = await node.files(ticket)
   * for (const f of files) console.log(f.path, f.size, f.held === f.size ? 'held' : '')
   * ```
   */
  files(id: string, options?: FilesOptions): Promise<FilesResult>
  /**
   * The addresses this node can be dialed on, each ending in `/p2p/<peer id>`.
   *
   * @example
   * ```ts
   * console.log(`connect with: shoal connect ${node.addrs()[0]}`)
   * ```
   */
  addrs(): string[]
}
