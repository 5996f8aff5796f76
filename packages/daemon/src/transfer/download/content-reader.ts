/**
 * Reading any share, held or not (`cat`, the gateway, `files`): one file,
 * or a byte range of it, as verified chunks in order. Chunks this node does
 * not hold are fetched on demand — the chunk being read first, then a
 * read-ahead window — into the root's holding (`<repo>/partial/<cid>` when
 * there is no download of it), and stay there for a later fetch to reuse.
 * Memory stays bounded whatever the size: chunks are read back from disk,
 * or handed over in memory when they arrive inside a reader's window.
 */
import path from 'node:path'
import { ChunkLayout, ErrorCode, ShoalError, decodeManifest, manifestMatches } from '@shoal/protocol'
import type { FileEntry, FilesResult } from '@shoal/protocol'
import { READ_AHEAD_BYTES, READ_WAIT_MS, RESOLVE_TIMEOUT_MS } from '../../constants.js'
import type { ChunkSource } from '../../storage/chunk-source.js'
import type { DownloadRecord, ProviderHint, Records } from '../../storage/records.js'
import { fileOf } from '../../storage/share-paths.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import type { FetchTarget } from './download-setup.js'
import type { Holding } from './holding.js'
import type { ProviderSearch } from './provider-search.js'
import type { ChunkData, Readers } from './readers.js'
import { hintedPeers } from './download-setup.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'

/** Held chunks read and hashed ahead of the one being sent, per reader (each one chunk of memory): 2 left the main thread idle a third of the time while serving a held file, 4 served it ~1.5x faster. */
const HELD_READ_AHEAD = 4

/** How to read. */
export interface ReadOptions {
  /** First byte (inclusive). @default 0 */
  start?: number
  /** Last byte + 1 (exclusive). @default the file's size */
  end?: number
  /** Only what this node holds: NOT_FOUND instead of fetching. @default false */
  local?: boolean
  /** Stops the read (a reader that went away). */
  signal?: AbortSignal
  /** Bytes demanded ahead of the chunk being read. @default READ_AHEAD_BYTES */
  readAheadBytes?: number
  /** How long to wait for one chunk before TIMEOUT. @default READ_WAIT_MS */
  waitMs?: number
  /** How long to look for providers of a manifest this node lacks. @default RESOLVE_TIMEOUT_MS */
  resolveTimeoutMs?: number
}

/** One file of a share, or a range of it, as verified bytes in order; iterate it once. */
export interface FileRead extends AsyncIterable<Uint8Array> {
  /** Its path inside the share ('' for a file share). */
  readonly path: string
  /** Its name: the share's for a file share, else the last segment of `path`. */
  readonly name: string
  /** The file's size in bytes. */
  readonly size: number
  /** The first byte read. */
  readonly start: number
  /** How many bytes the read yields. */
  readonly length: number
}

/** What reading uses of the download side. */
export interface ContentReaderComponents {
  node: ShoalLibp2p
  records: Records
  shares: ShareRegistry
  search: ProviderSearch
  readers: Readers
  holdings: Map<string, Holding>
  loadHolding: (record: DownloadRecord, manifestBytes: Uint8Array, fresh: boolean, layout?: ChunkLayout) => Promise<Holding>
  /** Start a download run that serves readers of `cid`, unless one runs. */
  ensureReaderRun: (cid: string) => Promise<void>
  /** Where chunks fetched for readers go when there is no download of the root. */
  partialDir: string
}

interface Known {
  bytes: Uint8Array
  layout: ChunkLayout
  name: string
  /** Peers that sent the manifest, when it was just asked for. */
  providers?: ProviderHint[]
  /** Held completely: a share. */
  share?: ChunkSource
}

/** Reads files of any share, and lists what a share holds (see the module comment). */
export class ContentReader {
  /** Manifests resolved for `files` or a listing, kept for the next request (a few, newest last). */
  private readonly recent = new Map<string, { bytes: Uint8Array, name: string, providers: ProviderHint[] }>()

  constructor (private readonly c: ContentReaderComponents) {}

  /** The files of a share and how much of each this node holds; the manifest is asked of providers when this node has none. */
  async files (target: FetchTarget, options: { local?: boolean, signal?: AbortSignal, resolveTimeoutMs?: number } = {}): Promise<FilesResult> {
    const cid = target.cid.toString()
    const known = await this.known(target, options)
    const { layout } = known
    const holding = this.c.holdings.get(cid)
    const have = known.share !== undefined ? undefined : holding?.have ?? await this.storedBits(cid, layout)
    const files: FileEntry[] = layout.manifest.files.map((f, i) => {
      const { first, count } = layout.fileRange(i)
      let held = 0
      if (have === undefined) held = known.share !== undefined ? f.size : 0
      else for (let c = first; c < first + count; c++) if (have.has(c)) held += layout.locate(c).length
      return { path: f.path, size: f.size, held }
    })
    return { cid, name: known.name, kind: layout.manifest.kind, size: layout.totalSize, held: files.reduce((n, f) => n + f.held, 0), files, dirs: [...layout.manifest.dirs] }
  }

  /** Open one file (`path`, omitted for a file share) of any share for reading, or a byte range of it. */
  async open (target: FetchTarget, filePath: string | undefined, options: ReadOptions = {}): Promise<FileRead> {
    const cid = target.cid.toString()
    const known = await this.known(target, options)
    const { layout } = known
    const { fileIndex, first } = fileOf(layout, cid, filePath)
    const file = layout.manifest.files[fileIndex] as { path: string, size: number }
    const start = options.start ?? 0
    const end = options.end ?? file.size
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end > file.size || start > end) {
      throw new ShoalError(ErrorCode.BAD_REQUEST, `bytes ${start}-${end - 1} are outside ${file.path === '' ? cid : file.path} (${file.size} bytes)`)
    }
    if (known.share === undefined && options.local !== true) {
      await this.ensureRecord(target, known)
      // the file exists before its first chunk arrives
      await this.c.holdings.get(cid)?.part.ensureFile(fileIndex)
    }
    const name = file.path === '' ? known.name : path.posix.basename(file.path)
    const read = (): AsyncGenerator<Uint8Array> => this.read(cid, layout, first, file.size, start, end, options)
    return { path: file.path, name, size: file.size, start, length: end - start, [Symbol.asyncIterator]: () => read()[Symbol.asyncIterator]() }
  }

  /** The bytes `start` … `end − 1` of the file whose first chunk is `first`, in order. */
  private async * read (cid: string, layout: ChunkLayout, first: number, fileSize: number, start: number, end: number, options: ReadOptions): AsyncGenerator<Uint8Array> {
    if (end <= start) return
    const chunkSize = layout.manifest.chunkSize
    const lastOfFile = first + Math.ceil(fileSize / chunkSize) - 1
    const from = first + Math.floor(start / chunkSize)
    const to = first + Math.floor((end - 1) / chunkSize)
    const ahead = Math.max(1, Math.ceil((options.readAheadBytes ?? READ_AHEAD_BYTES) / chunkSize))
    const window = this.c.readers.open(cid, layout.chunkCount, i => this.holds(cid, i))
    try {
      // held chunks ahead are read while this one is sent: disk and socket overlap
      const reading = new Map<number, Promise<ChunkData>>()
      for (let index = from; index <= to; index++) {
        if (options.local !== true) window.move(index, Math.min(lastOfFile, index + ahead - 1))
        for (let k = index; k <= Math.min(to, index + HELD_READ_AHEAD) && this.holds(cid, k); k++) {
          if (reading.has(k)) continue
          const p = this.chunk(cid, k, options)
          p.catch(() => {}) // seen when awaited; a reader that stops early never awaits it
          reading.set(k, p)
        }
        const data = await (reading.get(index) ?? this.chunk(cid, index, options))
        reading.delete(index)
        const base = (index - first) * chunkSize
        yield * pieces(data, Math.max(0, start - base), Math.min(data.byteLength, end - base))
      }
    } finally {
      window.close()
    }
  }

  /** True when chunk `index` of `cid` can be read without fetching. */
  private holds (cid: string, index: number): boolean {
    return this.c.shares.lookup(cid) !== undefined || this.c.holdings.get(cid)?.have.has(index) === true
  }

  /** Chunk `index` of `cid`, verified: from the share, from a reader's hand-over, from the holding, or fetched. */
  private async chunk (cid: string, index: number, options: ReadOptions): Promise<ChunkData> {
    const deadline = Date.now() + (options.waitMs ?? READ_WAIT_MS)
    while (true) {
      options.signal?.throwIfAborted()
      const share = this.c.shares.lookup(cid)
      if (share !== undefined) return await share.readChunk(index)
      const handed = this.c.readers.take(cid, index)
      if (handed !== undefined) return handed
      const holding = this.c.holdings.get(cid)
      if (holding?.have.has(index) === true) {
        try {
          return await holding.source.readChunk(index) // re-hashed
        } catch (err) {
          if (!(err instanceof ShoalError && err.code === ErrorCode.HASH_MISMATCH)) throw err
          holding.have.clear(index) // changed on disk: fetch it again
        }
      }
      if (options.local === true) throw new ShoalError(ErrorCode.NOT_FOUND, `chunk ${index} of ${cid} is not held here`)
      const left = deadline - Date.now()
      if (left <= 0) throw new ShoalError(ErrorCode.TIMEOUT, `chunk ${index} of ${cid} did not arrive within ${Math.round((options.waitMs ?? READ_WAIT_MS) / 1000)} s`)
      // wait first, then make sure a download runs: a chunk arriving in between is not missed
      const waiting = this.c.readers.wait(cid, index, left, options.signal)
      waiting.catch(() => {})
      try {
        await this.c.ensureReaderRun(cid)
      } catch (err) {
        throw asReadError(err, cid, index)
      }
      try {
        const got = await waiting
        if (got !== undefined) return got
      } catch (err) {
        throw asReadError(err, cid, index)
      }
    }
  }

  /** The manifest of `target`: a share's, a holding's, a record's, a recent one, else asked of providers (unless `local`). */
  private async known (target: FetchTarget, options: { local?: boolean, signal?: AbortSignal, resolveTimeoutMs?: number }): Promise<Known> {
    const cid = target.cid.toString()
    const share = this.c.shares.lookup(cid)
    const record = this.c.shares.get(cid)
    if (share !== undefined) return { bytes: share.manifestBytes, layout: share.layout, name: record?.name ?? share.name, share }
    const holding = this.c.holdings.get(cid)
    if (holding !== undefined) return { bytes: holding.manifestBytes, layout: holding.layout, name: holding.record.name }
    const download = await this.c.records.getDownload(cid)
    const stored = download !== undefined ? await this.c.records.getManifest(cid) : undefined
    if (download !== undefined && stored !== undefined && await manifestMatches(target.cid, stored)) return { bytes: stored, layout: new ChunkLayout(decodeManifest(stored)), name: download.name }
    const recent = this.recent.get(cid)
    if (recent !== undefined) return { bytes: recent.bytes, layout: new ChunkLayout(decodeManifest(recent.bytes)), name: recent.name, providers: recent.providers }
    if (options.local === true) throw new ShoalError(ErrorCode.NOT_FOUND, `${cid} is not held here`)
    const hinted = await hintedPeers(this.c.node, target.hints)
    const resolved = await this.c.search.resolve(target.cid, { hinted, timeoutMs: options.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS, ...(options.signal !== undefined ? { signal: options.signal } : {}) })
    const { fetched } = resolved
    const name = target.name ?? fetched.name
    // who sent it is where the chunks are asked for first
    const providers = resolved.providers.map(p => ({ peerId: p.toString(), addrs: [] }))
    this.recent.set(cid, { bytes: fetched.bytes, name, providers })
    while (this.recent.size > 8) this.recent.delete(this.recent.keys().next().value as string)
    return { bytes: fetched.bytes, layout: new ChunkLayout(fetched.manifest), name, providers }
  }

  /** A root read but not held: record it (chunks go to `<repo>/partial/<cid>`), so what is fetched is kept and served. */
  private async ensureRecord (target: FetchTarget, known: Known): Promise<void> {
    const cid = target.cid.toString()
    if (this.c.holdings.has(cid) || await this.c.records.getDownload(cid) !== undefined) return
    const record: DownloadRecord = {
      cid,
      name: known.name,
      kind: known.layout.manifest.kind,
      partPath: path.join(this.c.partialDir, cid),
      force: false,
      state: 'partial',
      startedAt: new Date().toISOString(),
      providers: [...target.hints, ...(known.providers ?? []).filter(p => !target.hints.some(h => h.peerId === p.peerId))]
    }
    await this.c.records.putManifest(cid, known.bytes)
    await this.c.records.putDownload(record)
    const holding = await this.c.loadHolding(record, known.bytes, true, known.layout)
    await holding.part.prepare(false, new Set())
  }

  private async storedBits (cid: string, layout: ChunkLayout): Promise<{ has(i: number): boolean } | undefined> {
    const bits = await this.c.records.getBitfield(cid)
    if (bits === undefined || bits.byteLength !== Math.ceil(layout.chunkCount / 8)) return undefined
    return { has: i => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0 }
  }
}

/** A run that failed while a reader waited: no provider sent the chunk in time is a TIMEOUT for the reader. */
function asReadError (err: unknown, cid: string, index: number): unknown {
  if (err instanceof ShoalError && err.code === ErrorCode.NO_PROVIDERS) return new ShoalError(ErrorCode.TIMEOUT, `chunk ${index} of ${cid} did not arrive: ${err.message}`, { cause: err })
  return err
}

/** The bytes `from` … `to − 1` of a chunk, as pieces (no copy of a whole chunk). */
function * pieces (data: ChunkData, from: number, to: number): Generator<Uint8Array> {
  if (data instanceof Uint8Array) { if (to > from) yield data.subarray(from, to); return }
  let at = 0
  for (const piece of data) {
    const lo = Math.max(from, at)
    const hi = Math.min(to, at + piece.byteLength)
    if (hi > lo) yield piece.subarray(lo - at, hi - at)
    at += piece.byteLength
    if (at >= to) return
  }
}

