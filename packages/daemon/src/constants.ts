/** Daemon defaults, in one place. Options document these with @default. */

/** Default listen address: every interface, an ephemeral TCP port. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']
/**
 * A fetcher's request window per peer is counted in bytes: this many full
 * chunks' worth until the peer's first block (4 MiB at the default 1 MiB
 * chunk size). Short chunks (files' last chunks) count as their length, so a
 * directory of small files keeps as many bytes in flight as one big file.
 */
export const DEFAULT_REQUEST_WINDOW = 4
/**
 * Chunks a server queues per stream (requested, not yet being served) before
 * it calls the peer abusive. Queued requests are indexes, not data: a full
 * queue costs a few kilobytes.
 */
export const MAX_PENDING_CHUNKS_PER_STREAM = 4096
/** Chunks a fetcher keeps requested from one peer at once, whatever their size (half the server's queue). */
export const MAX_REQUEST_CHUNKS = 2048
/**
 * Chunks shorter than the chunk size (files' last chunks) are packed, in a
 * run of consecutive requested ones, into one BLOCK of at most this many data
 * bytes; a full chunk is always a BLOCK of its own. Each chunk in a pack is
 * verified on its own at both ends.
 */
export const PACK_BYTES = 256 * 1024
/**
 * Chunks of at most this many bytes are small: read with synchronous file
 * calls on the main thread (open, read, close: a few microseconds each) and
 * created and written in batches on worker threads (SMALL_WRITE_WORKERS),
 * instead of a thread-pool round trip per call, which cost several times the
 * I/O itself for small files (bench/RESULTS.md, row 5). Larger chunks go
 * through the thread pool as before.
 */
export const SMALL_IO_BYTES = 64 * 1024
/**
 * Worker threads that create and write small files for downloads
 * (storage/small-file-writer.ts), and how many files one message to them
 * carries at most.
 */
export const SMALL_WRITE_WORKERS = 2
export const SMALL_WRITE_BATCH = 64
/** At most this many bytes in one batch to a small-file writer. */
export const SMALL_WRITE_BATCH_BYTES = 1024 * 1024
/**
 * Bytes of verified chunks a download may have waiting to be written; past
 * this it asks for nothing more until writes catch up (a slow disk must not
 * fill memory with received chunks)...
 */
export const WRITE_BACKLOG_BYTES = 8 * 1024 * 1024
/** ...or this many chunks (tiny files: each pending write holds a little memory whatever its size). */
export const WRITE_BACKLOG_CHUNKS = 4096
/** Small files hashed while sharing: let the event loop run after this long of synchronous reading. */
export const SMALL_IO_SLICE_MS = 10
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
/** Shoal's DHT protocol id: a private swarm never mixes with the public IPFS DHT. */
export const DHT_PROTOCOL = '/shoal/kad/1.0.0'
/** mDNS service name, so Shoal nodes find each other and not every libp2p node. */
export const MDNS_SERVICE_TAG = '_shoal-p2p._udp.local'
/**
 * How often mDNS queries the LAN. A node that starts queries at once and
 * every node answers, so a new node finds the others in well under a second
 * whatever this is; the repeat only catches nodes that were out of reach.
 * Every answer costs every listener a peer-store write: ten idle daemons at
 * 1 s used 7% of a core each, at 10 s 1.1%, at 60 s 0.4% (bench 8).
 */
export const MDNS_INTERVAL_MS = 60_000
/** How long one DHT provider lookup may take. */
export const FIND_PROVIDERS_TIMEOUT_MS = 10_000
/** How long a fetch by bare content id looks for a first provider before giving up. */
export const RESOLVE_TIMEOUT_MS = 20_000
/** How often a running download looks for new providers (first, and at most). */
export const PROVIDER_SEARCH_MIN_MS = 500
export const PROVIDER_SEARCH_MAX_MS = 5_000
/** How long before asking a peer that had nothing again. */
export const RETRY_EMPTY_PEER_MS = 5_000
/** Chunks served at once across all peers (upload slots, granted in FIFO order). */
export const MAX_CONCURRENT_UPLOADS = 4
/** Request window bounds per peer, in full chunks' worth of bytes; sized between them from the measured rate. */
export const MIN_REQUEST_WINDOW = 2
export const MAX_REQUEST_WINDOW = 32
/** Seconds of transfer a peer's window should cover at its measured rate. */
export const WINDOW_SECONDS = 0.25
/** A peer's rate is what it delivered over this span. */
export const RATE_SPAN_MS = 2_000
/** The shortest span a rate is computed over (the first block after a request). */
export const RATE_MIN_SPAN_MS = 50
/** Failures in a row after which a peer is not asked for a while (circuit breaker). */
export const BREAKER_FAILURES = 3
/** Backoff after a failure: base, doubling per consecutive failure, capped. */
export const BACKOFF_BASE_MS = 1_000
export const BACKOFF_MAX_MS = 30_000
/** End-game: when this few chunks are missing, ask a second peer for chunks in flight. */
export const ENDGAME_CHUNKS = 4
/** A download fails when no peer has sent a chunk for this long (discovery keeps looking meanwhile). */
export const STALL_TIMEOUT_MS = 30_000
/** A peer with requests in flight that sends nothing for this long is treated as stalled: its requests move to others. */
export const SESSION_STALL_MS = 5_000
/**
 * Super-seeding: while at least this many other peers fetch a root from us,
 * a chunk we sent to someone else within SUPERSEED_HOLD_MS is refused
 * (NOT_FOUND): the requester gets it from the peer that has it.
 */
export const SUPERSEED_MIN_SWARM = 2
export const SUPERSEED_HOLD_MS = 2_000
/** How long a NOT_FOUND from a peer keeps us from asking it for that chunk again. */
export const NOT_FOUND_RETRY_MS = 1_500
/**
 * Make progress durable after this many newly written bytes too (bounds what
 * a kill -9 loses; 16 chunks at the default chunk size). Counted in bytes, so
 * a directory of small files does not rewrite its whole bitfield every few
 * kilobytes (quadratic in the number of files).
 */
export const FLUSH_EVERY_BYTES = 16 * 1024 * 1024
/** LAN mode: inbound connections accepted per second from one host (libp2p's default is 5). */
export const LAN_INBOUND_CONNECTIONS_PER_SECOND = 256
/** LAN mode: inbound connections still upgrading at once (libp2p's default is 10). */
export const LAN_MAX_PENDING_INBOUND = 64
/**
 * A stop ends within this long in any state (`shoal stop`, SIGINT/SIGTERM);
 * the daemon command exits then even if a step is still hanging.
 */
export const STOP_TIMEOUT_MS = 5_000
/** How long each step of a stop may take (together under STOP_TIMEOUT_MS). */
export const STOP_STEP_MS = {
  /** Downloads save their progress and end. */
  downloads: 1_500,
  /** Fetch streams of clients get their last event. */
  control: 1_000,
  /** libp2p closes its connections. */
  libp2p: 1_500,
  /** Files, the datastore, the lock. */
  quick: 250
} as const
/** Bootstrap dials that failed are retried with this backoff (first, and at most). */
export const BOOTSTRAP_RETRY_MIN_MS = 1_000
export const BOOTSTRAP_RETRY_MAX_MS = 60_000
/** A peer that does not read what we send for this long is cut off (slow-loris). */
export const SEND_TIMEOUT_MS = 20_000
/** How often a shared file's size and mtime are re-checked while serving it. */
export const STAT_CHECK_INTERVAL_MS = 1_000
/** Requests one xfer stream works on at once (reads and hashes overlap). */
export const STREAM_CONCURRENCY = 4
/**
 * Bytes an xfer stream may have queued in its write buffer (plus chunks being
 * read for it) before the next chunk is read. Without a bound the queue held
 * up to 25 MB of blocks waiting for the peer's window; blocks that wait that
 * long outlive two young-generation GCs, and the full GCs they then need cost
 * the seeder more CPU than the transfer itself (bench/RESULTS.md).
 */
export const SEND_QUEUE_BYTES = 2 * 1024 * 1024
/** The metrics endpoint (metrics.ts): a scrape request must arrive and be answered within this. */
export const METRICS_REQUEST_TIMEOUT_MS = 10_000

/** Bandwidth caps: a bucket holds this many seconds of its rate... */
export const RATE_LIMIT_BURST_SECONDS = 0.1
/** ...and never less than this many bytes. */
export const RATE_LIMIT_MIN_BURST = 64 * 1024
/** Current rates (status, peers) are averaged over this span. */
export const RATE_METER_SPAN_MS = 3_000
/** A capped upload goes out in pieces of this size, each when the caps allow. */
export const PACE_PIECE_BYTES = 32 * 1024

/** The public IPFS DHT (Amino), joined in public mode. */
export const AMINO_DHT_PROTOCOL = '/ipfs/kad/1.0.0'
/** Public mode's bootstrap peers when none are configured: the Amino bootstrappers (as in Kubo). */
export const AMINO_BOOTSTRAP = [
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb',
  '/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt',
  '/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ'
]
/** A relay (--relay) serves this many reservations at once... */
export const RELAY_MAX_RESERVATIONS = 64
/** ...and lets each relayed connection carry this many bytes, both directions together (libp2p's default is 128 KiB, enough only to hole-punch)... */
export const RELAY_DEFAULT_DATA_LIMIT = 64 * 1024 * 1024
/** ...for at most this long. */
export const RELAY_DEFAULT_DURATION_LIMIT_MS = 10 * 60_000
/** On a relayed connection, stop asking for chunks when this much of its byte limit is left (framing, Noise and Yamux overhead). */
export const RELAY_LIMIT_MARGIN = 0.05
/** Behind NAT: how long after meeting a relay to expect a reservation on it (the relay transport gives up on one after 10 s)... */
export const RESERVATION_CHECK_MS = 12_000
/** ...how many reconnects in all when none came... */
export const RESERVATION_ATTEMPTS = 3
/** ...and how many checks in all, those put off because the relay was busy included. */
export const RESERVATION_MAX_CHECKS = 20
/** A chunk request (or a download without a completed chunk) fails after this long even while bytes trickle in. */
export const CHUNK_HARD_TIMEOUT_MS = 10 * 60_000
/** Readers of content not held (`cat`, the gateway): chunks demanded ahead of the one being read. */
export const READ_AHEAD_BYTES = 16 * 1024 * 1024
/** Verified chunks kept in memory for readers whose window covers them, all roots together (beyond: read back from disk). */
export const READ_STASH_BYTES = 96 * 1024 * 1024
/** How long a reader waits for one chunk before TIMEOUT (the gateway answers 504). */
export const READ_WAIT_MS = 30_000
/** Repo folder for chunks fetched for readers with no output path: `<repo>/partial/<cid>`. */
export const PARTIAL_DIR = 'partial'
/** Bytes of chunks fetched for readers alone kept in `<repo>/partial` before the least recently read go (`maxCache`). */
export const DEFAULT_READER_CACHE_BYTES = 10 * 1024 * 1024 * 1024
/** A root read this recently is not removed from the reader cache (a media player's next range request is on its way). */
export const READER_CACHE_GRACE_MS = 60_000
/** Gateway responses streaming content at once (each holds at most one chunk in memory); more wait their turn. */
export const GATEWAY_STREAMS = 24

// ---- IPFS (ipfs/): Bitswap serving and fetching, UnixFS

/** Bitswap streams one peer may have open to us per connection (each sends wants; we answer on our own). */
export const BITSWAP_MAX_INBOUND_STREAMS = 8
/** An inbound Bitswap stream that carries no message for this long is closed (Kubo keeps one per peer open; it reopens). */
export const BITSWAP_IDLE_STREAM_MS = 60_000
/** Our own Bitswap stream to a peer is closed after this long with nothing to send (Helia drops idle inbound streams after 10 s). */
export const BITSWAP_OUTBOX_IDLE_MS = 5_000
/** Messages queued for one peer before further sends fail (each holds at most one block). */
export const BITSWAP_OUTBOX_MAX_MESSAGES = 64
/** Wants remembered per peer; wants past this are ignored until some are served or cancelled (Helia and Kubo send at most 1024). */
export const BITSWAP_MAX_WANTS_PER_PEER = 1024
/** Blocks being read and sent to one peer at once. */
export const BITSWAP_PEER_CONCURRENCY = 2
/** Blocks being read and sent to all peers at once (a slot covers the read, the hash and the write). */
export const BITSWAP_MAX_CONCURRENT_SENDS = 8
/** Presences sent in one message at most. */
export const BITSWAP_MAX_PRESENCES_PER_MESSAGE = 1024
/** In public mode, a directory share's file roots are provided beside its root, for this many files at most. */
export const IPFS_PROVIDE_MAX_FILES = 64
/** UnixFS fetch end-game: with this few blocks missing, a block in flight may also be asked of a second provider. */
export const IPFS_ENDGAME_BLOCKS = 8
/** A pick looks at this many queued blocks at most (blocks the provider refused are skipped). */
export const IPFS_PICK_SCAN_LIMIT = 4096
/**
 * Blocks asked of one provider at once: first, least and most; sized between
 * them to cover IPFS_WINDOW_SECONDS at its measured rate. Larger than Shoal's
 * own windows: a Helia provider answers a want list in batches, one job at a
 * time, each ~100 ms on loopback whatever it holds, so 4 blocks in flight
 * gave 11 MB/s and 32 several times that.
 */
export const IPFS_START_WINDOW = 32
/**
 * A file part of at most this many bytes is taken for a leaf (UnixFS
 * importers chunk at 256 KiB or 1 MiB): under a download cap, a want for it
 * waits for room for that many bytes before it goes out.
 */
export const IPFS_LEAF_MAX_BYTES = 1024 * 1024
export const IPFS_MIN_WINDOW = 16
export const IPFS_MAX_WINDOW = 128
/**
 * A provider that sends not a byte for this long while owing blocks has them
 * asked elsewhere. Longer than Shoal's own SESSION_STALL_MS: a Helia provider
 * reads a whole want list before it sends any of it, and what it owes is
 * sent anyway once it gets to it, so asking elsewhere early costs duplicates.
 */
export const IPFS_SESSION_STALL_MS = 10_000
/**
 * A provider that sent nothing for this long while owing blocks is sent the
 * same want-blocks again (not asked elsewhere). A Helia provider queues at most
 * 10 jobs per peer and drops want lists past that; the wants stay in its
 * ledger but nothing sends them until another want list comes — and a full
 * window sends none: the fetch stood still until the stall timeout.
 */
export const IPFS_NUDGE_MS = 1_000
/** Seconds of a provider's measured rate its window covers. */
export const IPFS_WINDOW_SECONDS = 1
/** A provider's window is refilled once this share of it is free: fewer, larger want lists. */
export const IPFS_REFILL_FRACTION = 0.25
/** Most UnixFS nodes (files, directories, inner nodes) one fetch walks: a DAG larger than this is refused. */
export const IPFS_MAX_DAG_NODES = 2_000_000
/** Deepest nesting of UnixFS nodes a fetch follows (a balanced 1 TiB file is 3 deep). */
export const IPFS_MAX_DAG_DEPTH = 256
