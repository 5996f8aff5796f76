/**
 * Chunk maps for the web UI (`GET /v1/downloads/<cid>/chunks`, the
 * `chunks` events of `GET /v1/events`): a download's chunks binned into at
 * most MAX_CHUNK_MAP_CELLS cells, each counting held, in-flight and wanted
 * chunks and who sent them. Cheap by construction: a running download only
 * counts, per cell, the sender of each verified chunk (one map update per
 * chunk); everything else is read from its bitfield and request windows
 * when a map is asked for (a popcount per bitfield byte, one pass over the
 * chunks in flight), which the UI does at most 4 times a second.
 */
import { Bitfield, ChunkLayout, ErrorCode, ShoalError, chunksPerCell, parseContentId } from '@shoal/protocol'
import type { ChunkCell, ChunkMap } from '@shoal/protocol'
import type { Records } from '../../storage/records.js'
import { storedManifest } from './download-setup.js'

/** Set bits of each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => { let n = 0; for (let v = b; v !== 0; v >>= 1) n += v & 1; return n })

/** Who sent the chunks of one download run, counted per cell. */
export class ChunkSenders {
  readonly perCell: number
  readonly peers: string[] = []
  private readonly peerIndex = new Map<string, number>()
  /** cell → peer index → chunks */
  private readonly cells = new Map<number, Map<number, number>>()

  constructor (chunks: number) {
    this.perCell = chunksPerCell(chunks)
  }

  /** Chunk `index` was verified, sent by `peer`. */
  sent (index: number, peer: string): void {
    let p = this.peerIndex.get(peer)
    if (p === undefined) {
      p = this.peers.push(peer) - 1
      this.peerIndex.set(peer, p)
    }
    const cell = Math.floor(index / this.perCell)
    let counts = this.cells.get(cell)
    if (counts === undefined) this.cells.set(cell, counts = new Map())
    counts.set(p, (counts.get(p) ?? 0) + 1)
  }

  /** The `[peer index, chunks]` pairs of one cell. */
  of (cell: number): Array<[number, number]> {
    const counts = this.cells.get(cell)
    return counts === undefined ? [] : [...counts]
  }
}

/** What a chunk map is made from. */
export interface ChunkMapParts {
  cid: string
  have: Bitfield
  /** True while a download runs. */
  running: boolean
  /** Wanted chunks per cell, when not every chunk is wanted (an `--only` selection). */
  wanted?: Uint32Array
  /** Chunks requested and not held yet (duplicates allowed). */
  inFlight?: Iterable<number>
  senders?: ChunkSenders
}

/** The chunk map of `parts` (see the module comment). */
export function chunkMapOf (parts: ChunkMapParts): ChunkMap {
  const { have, cid } = parts
  const chunks = have.size
  const per = chunksPerCell(chunks)
  const count = Math.ceil(chunks / per)
  const held = heldPerCell(have, per, count)
  const inFlight = new Uint32Array(count)
  const seen = new Set<number>()
  for (const i of parts.inFlight ?? []) {
    if (seen.has(i) || have.has(i) || i < 0 || i >= chunks) continue
    seen.add(i)
    inFlight[Math.floor(i / per)]!++
  }
  const cells: ChunkCell[] = []
  for (let c = 0; c < count; c++) {
    const size = Math.min(per, chunks - c * per)
    cells.push({ held: held[c] ?? 0, inFlight: inFlight[c] ?? 0, wanted: parts.wanted?.[c] ?? size, from: parts.senders?.of(c) ?? [] })
  }
  return { cid, chunks, chunksPerCell: per, cells, peers: parts.senders?.peers.slice() ?? [], running: parts.running }
}

/** Held chunks per cell: a popcount per bitfield byte when a cell is whole bytes. */
function heldPerCell (have: Bitfield, per: number, count: number): Uint32Array {
  const out = new Uint32Array(count)
  if (per % 8 === 0) {
    const bytesPerCell = per / 8
    const bytes = have.bytes
    for (let b = 0; b < bytes.length; b++) out[Math.floor(b / bytesPerCell)]! += POPCOUNT[bytes[b]!]!
  } else {
    for (let i = 0; i < have.size; i++) if (have.has(i)) out[Math.floor(i / per)]!++
  }
  return out
}

/** Wanted chunks per cell for a selection (`selected(i)`), or undefined when every chunk is wanted. */
export function wantedPerCell (chunks: number, selected: ((index: number) => boolean) | undefined): Uint32Array | undefined {
  if (selected === undefined) return undefined
  const per = chunksPerCell(chunks)
  const out = new Uint32Array(Math.ceil(chunks / per))
  for (let i = 0; i < chunks; i++) if (selected(i)) out[Math.floor(i / per)]!++
  return out
}

/** Running downloads' chunk maps by content id: each run adds itself while it runs. */
export class LiveChunkMaps {
  private readonly runs = new Map<string, () => ChunkMap>()

  /** Register a run's map; the returned function removes it (and only it). */
  add (cid: string, map: () => ChunkMap): () => void {
    this.runs.set(cid, map)
    return () => { if (this.runs.get(cid) === map) this.runs.delete(cid) }
  }

  /** The map of a running download of `cid`. */
  get (cid: string): ChunkMap | undefined {
    return this.runs.get(cid)?.()
  }
}

/** Where a chunk map of a download that does not run comes from. */
export interface RestingSources {
  records: Records
  /** What a loaded holding (a partial share at rest) holds. */
  held: (cid: string) => Bitfield | undefined
  /** True when `cid` is a complete share of this node. */
  shared: (cid: string) => { chunks: number } | undefined
}

/**
 * The chunk map of `cid` when no download of it runs: a paused, failed or
 * interrupted download (its stored bitfield), a partial share, or a
 * complete share (every chunk held). NOT_FOUND otherwise.
 */
export async function restingChunkMap (s: RestingSources, cidText: string): Promise<ChunkMap> {
  const cid = parseContentId(cidText)
  const id = cid.toString()
  const loaded = s.held(id)
  if (loaded !== undefined) return chunkMapOf({ cid: id, have: loaded, running: false })
  const record = await s.records.getDownload(id)
  if (record !== undefined) {
    const stored = await storedManifest(s.records, cid, record.name)
    if (stored !== undefined) {
      const chunks = new ChunkLayout(stored.manifest).chunkCount
      const bits = await s.records.getBitfield(id)
      const have = bits !== undefined && bits.byteLength === Math.ceil(chunks / 8) ? new Bitfield(chunks, bits) : new Bitfield(chunks)
      return chunkMapOf({ cid: id, have, running: false })
    }
  }
  const share = s.shared(id)
  if (share !== undefined) {
    const have = new Bitfield(share.chunks)
    for (let i = 0; i < share.chunks; i++) have.set(i)
    return chunkMapOf({ cid: id, have, running: false })
  }
  throw new ShoalError(ErrorCode.NOT_FOUND, `no download or share of ${id} here`)
}
