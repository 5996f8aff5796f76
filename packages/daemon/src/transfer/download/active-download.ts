import { parseContentId, toShoalError } from '@shoal/protocol'
import type { ChunkMap, FetchEvent } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { PROGRESS_INTERVAL_MS } from '../../constants.js'
import type { Discovery } from '../../net/discovery.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import type { RelayBudgets } from '../../net/relay-budget.js'
import type { PartialSource } from '../../storage/partial-source.js'
import type { Records } from '../../storage/records.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { progressEvent } from './download-info.js'
import type { PreparedDownload } from './download-setup.js'
import { Download } from './download.js'
import type { DownloadResult } from './download.js'
import { DownloadPeers } from './download-peers.js'
import type { ProviderSearch } from './provider-search.js'
import type { Readers } from './readers.js'
import { Wants } from './wants.js'
import { ChunkSenders, chunkMapOf, wantedPerCell } from './chunk-map.js'
import type { LiveChunkMaps } from './chunk-map.js'

/** What a running download uses of the node. */
export interface ActiveDownloadComponents {
  node: ShoalLibp2p
  records: Records
  shares: ShareRegistry
  discovery: Discovery
  search: ProviderSearch
  budgets: RelayBudgets
  /** Readers of the root (`cat`, the gateway): their chunks first, handed over as they arrive. */
  readers: Readers
  /** Told of every chunk a peer sent: verified (with its bytes) or failing its hash. */
  stats: { onDownloaded(peer: PeerId, bytes: number): void, onChunkVerified(): void, onChunkRejected(): void }
  /** A peer sent a chunk that failed its hash: never asked again. */
  ban: (peer: PeerId) => void
  limiter?: BandwidthLimiter
  /** Where a running download's chunk map is found (the web UI). */
  chunkMaps?: LiveChunkMaps
}

export interface ActiveDownloadInit {
  /** Fail when no chunk arrived for this long. */
  stallTimeoutMs?: number
  /** Fail when no provider was connected for this long. */
  noProviderTimeoutMs?: number
  /** Ends the download early (pause, cancel, daemon stop); its reason is what `run` rejects with. */
  signal: AbortSignal
  /** A run that only serves readers: no selection, the record stays as it is. */
  readersOnly?: boolean
}

/**
 * One run of a download: the {@link Download} (scheduling, verifying,
 * writing), the holding's {@link PartialSource} that serves its verified
 * chunks to others, its {@link DownloadPeers}, and the listeners of its
 * progress events (the fetch that started it and any that attached since).
 * A whole-share fetch ends as a share of this node (its record goes); a
 * selective one moves each selected file into place as it completes and
 * ends `partial`; a run for readers fetches what they demand and ends when
 * none is left.
 */
export class ActiveDownload {
  readonly download: Download
  readonly source: PartialSource
  readonly peers: DownloadPeers
  readonly listeners = new Set<(e: FetchEvent) => void>()
  readonly readersOnly: boolean
  private readonly c: ActiveDownloadComponents
  private readonly prepared: PreparedDownload
  private readonly signal: AbortSignal
  /** Selected files being moved into place, one after another. */
  private placing: Promise<void> = Promise.resolve()
  /** A placing pass queued and not started: it covers every chunk verified until it starts. */
  private queuedPlace: Promise<void> | undefined
  /** Who sent which chunks, per chunk-map cell. */
  private readonly senders: ChunkSenders
  private wantedCells?: Uint32Array | 'all'

  constructor (components: ActiveDownloadComponents, prepared: PreparedDownload, init: ActiveDownloadInit) {
    this.c = components
    this.prepared = prepared
    this.signal = init.signal
    this.readersOnly = init.readersOnly === true
    const { record, layout, holding } = prepared
    const cid = parseContentId(record.cid)
    const selection = this.readersOnly ? undefined : holding.selection()
    const selective = selection !== undefined && selection !== 'all'
    const download = new Download({
      log: components.node.logger.forComponent('shoal:download'),
      record,
      layout,
      part: holding.part,
      records: components.records,
      have: holding.have,
      wants: new Wants(layout, selection, components.readers.demand(record.cid)),
      ...(selection !== 'all' ? { finish: async () => { if (selective) { await this.place(); await holding.part.prune() } } } : {}),
      ...(init.stallTimeoutMs !== undefined ? { stallTimeoutMs: init.stallTimeoutMs } : {}),
      ...(init.noProviderTimeoutMs !== undefined ? { noProviderTimeoutMs: init.noProviderTimeoutMs } : {}),
      onDownloaded: (peer, bytes, index) => { components.stats.onChunkVerified(); components.stats.onDownloaded(peer, bytes); this.senders.sent(index, peer.toString()) },
      onBadPeer: (peer) => { components.stats.onChunkRejected(); components.ban(peer) },
      onPeers: (addrs) => { void this.peers.suggested(addrs) },
      onChunk: (index, data) => {
        this.source.gained(index)
        components.readers.gained(record.cid, index, data)
        // a downloader is a provider as soon as it holds a verified chunk
        components.discovery.announce(cid)
        if (selective) void this.place().catch(err => { void download.abort(toShoalError(err)) })
      }
    })
    this.download = download
    this.senders = new ChunkSenders(layout.chunkCount)
    this.source = holding.source
    this.peers = new DownloadPeers({
      node: components.node,
      download,
      cid,
      budgets: components.budgets,
      ...(components.limiter !== undefined ? { limiter: components.limiter } : {}),
      excluded: peer => components.search.excluded(peer),
      signal: init.signal
    })
  }

  /**
   * Move the selected files that are complete into place, one pass at a
   * time. Chunks verified while a pass runs share the one queued after it:
   * a pass per chunk matched every pattern against every file and queued
   * faster than passes finished.
   */
  private async place (): Promise<void> {
    let pass = this.queuedPlace
    if (pass === undefined) {
      pass = this.placing.catch(() => {}).then(async () => {
        this.queuedPlace = undefined
        await this.prepared.holding.placeComplete()
      })
      this.queuedPlace = pass
      this.placing = pass
    }
    await pass
  }

  /** Its chunk map now: held from the bitfield, in flight from the sessions' windows, senders counted as chunks came. */
  chunkMap (): ChunkMap {
    const { download } = this
    const chunks = download.layout.chunkCount
    this.wantedCells ??= download.wants.selection === 'all' ? 'all' : (wantedPerCell(chunks, i => download.wants.has(i)) ?? 'all')
    const wanted = this.wantedCells === 'all' ? undefined : this.wantedCells
    return chunkMapOf({ cid: download.record.cid, have: download.have, running: !download.isFinished, inFlight: download.inFlight(), senders: this.senders, ...(wanted !== undefined ? { wanted } : {}) })
  }

  /** Tell every listener. */
  broadcast (event: FetchEvent): void {
    for (const l of this.listeners) l(event)
  }

  /**
   * Run to the end: `manifest`, then `progress` every PROGRESS_INTERVAL_MS,
   * then `done`; sessions to the first providers at once, more as the
   * search finds them. Rejects with the signal's reason when aborted.
   */
  async run (): Promise<DownloadResult> {
    const { record, fetched, layout, providers, holding } = this.prepared
    const { download, source, peers, signal } = this
    const cid = parseContentId(record.cid)
    const onAbort = (): void => { void download.abort(toShoalError(signal.reason)) }
    signal.addEventListener('abort', onAbort, { once: true })
    const searching = new AbortController()
    const path = record.out ?? holding.part.partPath
    const { size } = download.wants.progress(holding.have, 0)
    // a selective fetch announces its selection
    const selection = holding.selection()
    const files = selection === 'all' ? fetched.manifest.files.length : selection.size
    const chunks = selection === 'all' ? layout.chunkCount : [...selection].reduce((n, f) => n + layout.fileRange(f).count, 0)
    if (!this.readersOnly) this.broadcast({ type: 'manifest', cid: record.cid, name: record.name, kind: fetched.manifest.kind, size, files, chunks, path })
    const progressTimer = setInterval(() => { this.broadcast(progressEvent(download)) }, PROGRESS_INTERVAL_MS)
    const unlisted = this.c.chunkMaps?.add(record.cid, () => this.chunkMap())
    try {
      download.start()
      if (!download.isFinished) {
        // sessions open in the background: a slow provider never holds up the others
        void peers.open(providers)
        void this.c.search.keepLooking(cid, providers, async found => { if (!download.isFinished) await peers.open(found) }, AbortSignal.any([searching.signal, signal]))
      }
      const result = await download.result
      if (download.wants.selection === 'all') {
        await this.c.shares.addFetched(record.cid, record.name, result.path, fetched.bytes, fetched.manifest)
        source.markComplete()
        this.c.discovery.announce(cid)
        await this.c.records.deleteDownload(record.cid)
      } else {
        // a selection (or readers' chunks) held: this node holds part of the share, at rest
        await this.c.records.putBitfield(record.cid, Uint8Array.from(holding.have.bytes))
        if (!this.readersOnly) {
          holding.record = { ...record, state: 'partial' }
          await this.c.records.putDownload(holding.record)
        }
      }
      this.broadcast(progressEvent(download))
      this.broadcast({ type: 'done', done: true, cid: record.cid, path: result.path, size: result.size, seconds: result.seconds })
      return result
    } finally {
      clearInterval(progressTimer)
      unlisted?.()
      searching.abort()
      signal.removeEventListener('abort', onAbort)
    }
  }
}
