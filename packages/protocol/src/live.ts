/**
 * Live views of a node, for the web UI and any other watcher: chunk maps of
 * downloads (`GET /v1/downloads/<cid>/chunks`) and the event stream
 * (`GET /v1/events`, Server-Sent Events). The web UI is served by the
 * daemon's HTTP server; `GET /v1/ui` gives its address with the token.
 */
import type { ChunkRange } from './chunking.js'
import type { ListResult, PeerInfo, StatusInfo } from './control.js'

/** At most this many cells in a {@link ChunkMap}: bigger downloads put several chunks in a cell. */
export const MAX_CHUNK_MAP_CELLS = 1024

/**
 * How many chunks one cell of a chunk map holds for a download of `chunks`
 * chunks: 1 up to {@link MAX_CHUNK_MAP_CELLS} chunks, else the smallest power
 * of two (at least 8, so a cell is whole bytes of a bitfield) that keeps the
 * cells within the maximum.
 *
 * @example
 * ```ts
 * chunksPerCell(1000)   // 1
 * chunksPerCell(4096)   // 8: 512 cells
 * chunksPerCell(100000) // 128: 782 cells
 * ```
 */
export function chunksPerCell (chunks: number): number {
  if (chunks <= MAX_CHUNK_MAP_CELLS) return 1
  let per = 8
  while (per * MAX_CHUNK_MAP_CELLS < chunks) per *= 2
  return per
}

/**
 * The chunks of cell `index`: `[first, first + count)`.
 *
 * @example
 * ```ts
 * cellChunks({ chunks: 20, chunksPerCell: 8 }, 2) // { first: 16, count: 4 }
 * ```
 */
export function cellChunks (map: Pick<ChunkMap, 'chunks' | 'chunksPerCell'>, index: number): ChunkRange {
  const first = index * map.chunksPerCell
  return { first, count: Math.max(0, Math.min(map.chunksPerCell, map.chunks - first)) }
}

/** One cell of a {@link ChunkMap}: counts of its chunks (see {@link cellChunks}) in each state. */
export interface ChunkCell {
  /** Chunks held: verified and written. */
  held: number
  /** Chunks asked of a peer (or being verified and written) and not held yet. */
  inFlight: number
  /** Chunks the download wants: all of the cell, or fewer for an `--only` selection (the others are skipped). Missing = wanted − held − in flight. */
  wanted: number
  /**
   * Who sent the held chunks since the download (re)started: pairs of an
   * index into {@link ChunkMap.peers} and a count. Held chunks not counted
   * here were held before (an earlier run, before a pause or a restart).
   */
  from: Array<[number, number]>
}

/**
 * The chunk map of a download: its chunks in at most
 * {@link MAX_CHUNK_MAP_CELLS} cells, each with counts of held, in-flight
 * and wanted chunks and who sent them. `GET /v1/downloads/<cid>/chunks`,
 * `Shoal.chunkMap()`, and `chunks` events of `GET /v1/events`.
 */
export interface ChunkMap {
  /** The download's content id. */
  cid: string
  /** Chunks in the share. */
  chunks: number
  /** Chunks per cell ({@link chunksPerCell}); the last cell may hold fewer. */
  chunksPerCell: number
  /** The cells, in chunk order. */
  cells: ChunkCell[]
  /** Peer ids that `from` points into. */
  peers: string[]
  /** True while the download runs: in-flight counts and `from` are live. A paused or failed one shows what it holds. */
  running: boolean
}

/** `status` event: the node's {@link StatusInfo}, as `GET /v1/status` gives it. */
export interface StatusLiveEvent {
  /** Always `status`. */
  type: 'status'
  /** The snapshot. */
  status: StatusInfo
}

/** `ls` event: what `GET /v1/ls` gives (shares and downloads). */
export interface LsLiveEvent extends ListResult {
  /** Always `ls`. */
  type: 'ls'
}

/** `peers` event: what `GET /v1/peers` gives. */
export interface PeersLiveEvent {
  /** Always `peers`. */
  type: 'peers'
  /** The peers connected now. */
  peers: PeerInfo[]
}

/** `chunks` event: a download's whole {@link ChunkMap}. */
export interface ChunksLiveEvent {
  /** Always `chunks`. */
  type: 'chunks'
  /** The map. */
  map: ChunkMap
}

/** `chunks-delta` event: the cells of a download's map that changed since this client was last sent it. */
export interface ChunksDeltaLiveEvent {
  /** Always `chunks-delta`. */
  type: 'chunks-delta'
  /** The download's content id. */
  cid: string
  /** As {@link ChunkMap.running}. */
  running: boolean
  /** The whole peer table now ({@link ChunkMap.peers}). */
  peers: string[]
  /** Changed cells: `[index, cell]`. */
  cells: Array<[number, ChunkCell]>
}

/** `chunks-gone` event: the download is no longer listed (completed, or cancelled). */
export interface ChunksGoneLiveEvent {
  /** Always `chunks-gone`. */
  type: 'chunks-gone'
  /** The download's content id. */
  cid: string
}

/**
 * What `GET /v1/events` sends, one Server-Sent Event per object: `event:`
 * is its `type`, `data:` the JSON object. On connect: `status`, `ls` and
 * `peers`, and a `chunks` map per download; then each again when it
 * changed (sampled every second), and `chunks-delta` for each running
 * download whose cells changed (at most 4 a second): the changed cells only.
 * `chunks-gone` when a download is no longer listed (a completed one gets a
 * last delta first: every chunk held).
 *
 * @example
 * ```ts
 * const events = new EventSource('/ui/api/v1/events')
 * events.addEventListener('chunks-delta', (msg) => {
 *   const e = JSON.parse(msg.data) as ChunksDeltaLiveEvent
 *   console.log(`${e.cells.length} cells of ${e.cid} changed`)
 * })
 * ```
 */
export type LiveEvent = StatusLiveEvent | LsLiveEvent | PeersLiveEvent | ChunksLiveEvent | ChunksDeltaLiveEvent | ChunksGoneLiveEvent

/** Reply of `GET /v1/ui` and `Shoal.uiAccess()`: where the web UI is. */
export interface UiAccess {
  /** The UI's address, e.g. `http://127.0.0.1:8080/` (without a token it shows only "run `shoal ui`"). */
  url: string
  /** The same with the token (`?token=…`): opening it once gives the browser a cookie that lets it in. Keep it secret. */
  loginUrl: string
}
