/**
 * Control API types: HTTP/1.1 + JSON over `<repo>/shoal.sock`, routes under /v1/.
 * The embedding API (`createShoal`) returns the same shapes.
 */
import { ErrorCode, ShoalError } from './errors.js'
import { isRate } from './rates.js'

/** Name of the control socket inside the repo. */
export const CONTROL_SOCKET_NAME = 'shoal.sock'
/** Largest control request body accepted (64 KiB). */
export const MAX_CONTROL_BODY_BYTES = 64 * 1024

export const ControlRoute = {
  status: '/v1/status',
  peers: '/v1/peers',
  connect: '/v1/connect',
  shares: '/v1/shares',
  ls: '/v1/ls',
  fetch: '/v1/fetch',
  stop: '/v1/stop',
  /**
   * GET /v1/cat/<cid>[?path=<relative path>] streams the bytes of one file of a
   * share this node holds (shared or fetched), every chunk verified against its
   * hash, as `application/octet-stream` with a content-length. A directory share
   * needs `path`; a file share takes none. Unknown id: 404 NOT_FOUND; a bad path:
   * 400 INVALID_PATH. A failure after the reply began cuts the connection short
   * of the content-length, so a client never mistakes a partial file for a whole one.
   */
  cat: '/v1/cat'
} as const

/** Error body of every 4xx/5xx reply. */
export interface ErrorBody {
  error: { code: ErrorCode, message: string }
}

export interface StatusInfo {
  peerId: string
  addrs: string[]
  repo: string
  version: string
  connections: number
  peers: number
  shares: number
  transfers: TransferInfo[]
  uptimeSeconds: number
  /** Peers in the DHT routing table. */
  dhtPeers: number
  /** Chunk payload bytes sent since the daemon started. */
  uploaded: number
  /** Chunk payload bytes received (verified) since the daemon started. */
  downloaded: number
}

export interface PeerInfo {
  peerId: string
  addrs: string[]
  connections: number
  direction: 'inbound' | 'outbound' | 'mixed'
  /** Chunk payload bytes sent to this peer since the daemon started. */
  uploaded: number
  /** Chunk payload bytes received from this peer since the daemon started. */
  downloaded: number
}

export interface ConnectRequest {
  addr: string
}

export interface ConnectResult {
  peerId: string
}

export interface ShareRequest {
  path: string
}

export interface ShareResult {
  cid: string
  ticket: string
  name: string
  path: string
  kind: 'file' | 'dir'
  size: number
  files: number
  chunks: number
}

export interface ShareInfo {
  cid: string
  name: string
  path: string
  kind: 'file' | 'dir'
  size: number
  files: number
  chunks: number
  /** True when the source changed on disk and can no longer be served. */
  stale: boolean
  /** Where it came from: shared from disk, or fetched. */
  origin: 'shared' | 'fetched'
  sharedAt: string
}

export interface TransferInfo {
  cid: string
  path: string
  state: 'active' | 'paused' | 'failed' | 'done'
  size: number
  received: number
  chunks: number
  chunksDone: number
  peers: number
  rate: number
  error?: { code: ErrorCode, message: string }
}

export interface ListResult {
  shares: ShareInfo[]
  downloads: TransferInfo[]
}

export interface FetchRequest {
  /** Content id or ticket. */
  id: string
  /** Output path; absolute (the CLI resolves it). A trailing `/` means "into this directory". */
  out?: string
  /** Replace an existing output path. */
  force?: boolean
  /** Seconds to look for providers before giving up. */
  timeout?: number
}

/** NDJSON events streamed by POST /v1/fetch, one object per line. */
export type FetchEvent =
  | { type: 'resolving', cid: string, providers: number }
  | { type: 'manifest', cid: string, name: string, kind: 'file' | 'dir', size: number, files: number, chunks: number, path: string }
  | { type: 'progress', cid: string, received: number, size: number, chunksDone: number, chunks: number, peers: number, rate: number }
  | { type: 'done', done: true, cid: string, path: string, size: number, seconds: number }
  | { type: 'error', error: { code: ErrorCode, message: string } }

export interface StopResult {
  stopping: true
}

export interface UnshareResult {
  cid: string
  removed: true
}

/** Content type of the streaming replies (fetch, share with progress). */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson'

/**
 * NDJSON events of POST /v1/shares when the request has
 * `accept: application/x-ndjson`: hashing progress, then `done` with the
 * ShareResult, or `error`. Without that header the reply is one ShareResult.
 */
export type ShareEvent =
  | { type: 'hashing', hashedBytes: number, totalBytes: number, files: number }
  | ({ type: 'done' } & ShareResult)
  | { type: 'error', error: { code: ErrorCode, message: string } }

/**
 * `<repo>/config.json`: written by `shoal config`, read by the daemon when it
 * starts; flags and embedding options override it.
 */
export interface RepoConfig {
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  network?: 'lan' | 'public'
  /** Cap on chunk bytes sent per second, all peers together (see parseRate). */
  maxUpload?: string | number
  /** Cap on chunk bytes received per second, all peers together. */
  maxDownload?: string | number
  /** Cap on chunk bytes sent per second to any one peer. */
  maxUploadPerPeer?: string | number
  /** Cap on chunk bytes received per second from any one peer. */
  maxDownloadPerPeer?: string | number
  /** Act as a circuit relay v2 server for peers behind NAT. */
  relay?: boolean
  /** UPnP port mapping on the home router. Default: on in public mode. */
  upnp?: boolean
  /** Serve Prometheus metrics on this host:port (e.g. "127.0.0.1:9464"). */
  metrics?: string
}

/** The name of the config file inside the repo. */
export const REPO_CONFIG_FILE = 'config.json'

export type RepoConfigKey = keyof RepoConfig

const isMultiaddrList = (v: unknown): boolean =>
  Array.isArray(v) && v.every(x => typeof x === 'string' && x.startsWith('/') && x.length > 1 && x.length < 1024)

const RATE_EXPECTED = 'a rate such as "10MiB/s", "800KB/s" or a number of bytes per second (0 = unlimited)'

/** True for "host:port" with a port from 0 to 65535 (IPv6 hosts in brackets). */
export function isHostPort (value: unknown): boolean {
  if (typeof value !== 'string') return false
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  return match !== null && Number(match[2]) <= 65535
}

/** Every config key: what kind of value it holds and what it must be. */
export const REPO_CONFIG_KEYS: Record<RepoConfigKey, { kind: 'list' | 'boolean' | 'choice' | 'rate' | 'string', expected: string, check: (value: unknown) => boolean }> = {
  listen: { kind: 'list', expected: 'a list of multiaddr strings', check: isMultiaddrList },
  bootstrap: { kind: 'list', expected: 'a list of multiaddr strings', check: isMultiaddrList },
  mdns: { kind: 'boolean', expected: 'true or false', check: v => typeof v === 'boolean' },
  network: { kind: 'choice', expected: '"lan" or "public"', check: v => v === 'lan' || v === 'public' },
  maxUpload: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  maxDownload: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  maxUploadPerPeer: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  maxDownloadPerPeer: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  relay: { kind: 'boolean', expected: 'true or false', check: v => typeof v === 'boolean' },
  upnp: { kind: 'boolean', expected: 'true or false', check: v => typeof v === 'boolean' },
  metrics: { kind: 'string', expected: 'a "host:port" string such as "127.0.0.1:9464"', check: isHostPort }
}

/** True when `key` is a config key. */
export function isRepoConfigKey (key: unknown): key is RepoConfigKey {
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(REPO_CONFIG_KEYS, key)
}

/** Check a parsed config.json; throws REPO_INVALID naming `where` and the bad key. */
export function validateConfig (raw: unknown, where: string): RepoConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ShoalError(ErrorCode.REPO_INVALID, `${where} must hold a JSON object`)
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!isRepoConfigKey(key)) throw new ShoalError(ErrorCode.REPO_INVALID, `${where}: unknown key "${key}" (known: ${Object.keys(REPO_CONFIG_KEYS).join(', ')})`)
    const spec = REPO_CONFIG_KEYS[key]
    if (!spec.check(value)) throw new ShoalError(ErrorCode.REPO_INVALID, `${where}: "${key}" must be ${spec.expected}`)
    out[key] = value
  }
  return out as RepoConfig
}
