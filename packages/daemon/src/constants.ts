/** Daemon defaults, in one place. Options document these with @default. */

/** Default listen address: every interface, an ephemeral TCP port. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']
/** Chunks a fetcher keeps requested from one peer at once. */
export const DEFAULT_REQUEST_WINDOW = 16
/** Requests a server queues per stream before it calls the peer abusive. */
export const MAX_PENDING_REQUESTS_PER_STREAM = 64
/** Xfer streams one peer may have open to us. */
export const MAX_INBOUND_XFER_STREAMS = 32
/** Manifest requests one peer may have open to us. */
export const MAX_INBOUND_MANIFEST_STREAMS = 8
/** How long a manifest exchange may take. */
export const MANIFEST_TIMEOUT_MS = 30_000
/** How long one chunk request may take before it is retried elsewhere. */
export const CHUNK_TIMEOUT_MS = 30_000
/** How long to wait for a peer's HELLO answer on an xfer stream. */
export const HELLO_TIMEOUT_MS = 15_000
/** How long to try to dial a provider. */
export const DIAL_TIMEOUT_MS = 15_000
/** How often downloaded-chunk progress is made durable. */
export const FLUSH_INTERVAL_MS = 1_000
/** How often progress events are emitted during a fetch. */
export const PROGRESS_INTERVAL_MS = 250
/** Open file handles kept per share for serving. */
export const MAX_OPEN_FILES_PER_SOURCE = 32
/** Times a chunk is retried after failures before the fetch gives up. */
export const MAX_CHUNK_ATTEMPTS = 5
/** Repo-relative names. */
export const REPO_FILES = {
  lock: 'repo.lock',
  identity: 'identity.key',
  datastore: 'datastore',
  config: 'config.json'
} as const
