import { parseContentId, toShoalError } from '@shoal/protocol'
import type { FetchEvent } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { PROGRESS_INTERVAL_MS } from '../../constants.js'
import type { Discovery } from '../../net/discovery.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import type { RelayBudgets } from '../../net/relay-budget.js'
import { PartialSource } from '../../storage/partial-source.js'
import type { Records } from '../../storage/records.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { progressEvent } from './download-info.js'
import type { PreparedDownload } from './download-setup.js'
import { Download } from './download.js'
import type { DownloadResult } from './download.js'
import { DownloadPeers } from './download-peers.js'
import type { ProviderSearch } from './provider-search.js'

/** What a running download uses of the node. */
export interface ActiveDownloadComponents {
  node: ShoalLibp2p
  records: Records
  shares: ShareRegistry
  discovery: Discovery
  search: ProviderSearch
  budgets: RelayBudgets
  /** Told of every chunk a peer sent: verified (with its bytes) or failing its hash. */
  stats: { onDownloaded(peer: PeerId, bytes: number): void, onChunkVerified(): void, onChunkRejected(): void }
  /** A peer sent a chunk that failed its hash: never asked again. */
  ban: (peer: PeerId) => void
  limiter?: BandwidthLimiter
}

export interface ActiveDownloadInit {
  /** Fail when no chunk arrived for this long. */
  stallTimeoutMs?: number
  /** Fail when no provider was connected for this long. */
  noProviderTimeoutMs?: number
  /** Ends the download early (pause, cancel, daemon stop); its reason is what `run` rejects with. */
  signal: AbortSignal
}

/**
 * One download while it runs: the {@link Download} (scheduling, verifying,
 * writing), the {@link PartialSource} that serves its verified chunks to
 * others, its {@link DownloadPeers}, and the listeners of its progress
 * events (the fetch that started it and any that attached since). On
 * success it becomes a share of this node and its record goes.
 */
export class ActiveDownload {
  readonly download: Download
  readonly source: PartialSource
  readonly peers: DownloadPeers
  readonly listeners = new Set<(e: FetchEvent) => void>()
  private readonly c: ActiveDownloadComponents
  private readonly prepared: PreparedDownload
  private readonly signal: AbortSignal

  constructor (components: ActiveDownloadComponents, prepared: PreparedDownload, init: ActiveDownloadInit) {
    this.c = components
    this.prepared = prepared
    this.signal = init.signal
    const { record, layout, part, fetched } = prepared
    const cid = parseContentId(record.cid)
    const download = new Download({
      log: components.node.logger.forComponent('shoal:download'),
      record,
      layout,
      part,
      records: components.records,
      ...(prepared.have !== undefined ? { have: prepared.have } : {}),
      ...(init.stallTimeoutMs !== undefined ? { stallTimeoutMs: init.stallTimeoutMs } : {}),
      ...(init.noProviderTimeoutMs !== undefined ? { noProviderTimeoutMs: init.noProviderTimeoutMs } : {}),
      onDownloaded: (peer, bytes) => { components.stats.onChunkVerified(); components.stats.onDownloaded(peer, bytes) },
      onBadPeer: (peer) => { components.stats.onChunkRejected(); components.ban(peer) },
      onPeers: (addrs) => { void this.peers.suggested(addrs) },
      onChunk: (index) => {
        this.source.gained(index)
        // a downloader is a provider as soon as it holds a verified chunk
        components.discovery.announce(cid)
      }
    })
    this.download = download
    this.source = new PartialSource({
      cid: record.cid,
      name: record.name,
      layout,
      manifestBytes: fetched.bytes,
      have: download.have,
      part,
      finished: () => components.shares.lookup(record.cid)
    })
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
    const { record, fetched, layout, providers } = this.prepared
    const { download, source, peers, signal } = this
    const cid = parseContentId(record.cid)
    const onAbort = (): void => { void download.abort(toShoalError(signal.reason)) }
    signal.addEventListener('abort', onAbort, { once: true })
    const searching = new AbortController()
    this.broadcast({ type: 'manifest', cid: record.cid, name: record.name, kind: fetched.manifest.kind, size: layout.totalSize, files: fetched.manifest.files.length, chunks: layout.chunkCount, path: record.out })
    const progressTimer = setInterval(() => { this.broadcast(progressEvent(download)) }, PROGRESS_INTERVAL_MS)
    try {
      download.start()
      if (!download.isFinished) {
        // sessions open in the background: a slow provider never holds up the others
        void peers.open(providers)
        void this.c.search.keepLooking(cid, providers, async found => { if (!download.isFinished) await peers.open(found) }, AbortSignal.any([searching.signal, signal]))
      }
      const result = await download.result
      await this.c.shares.addFetched(record.cid, record.name, result.path, fetched.bytes, fetched.manifest)
      source.markComplete()
      this.c.discovery.announce(cid)
      await this.c.records.deleteDownload(record.cid)
      this.broadcast(progressEvent(download))
      this.broadcast({ type: 'done', done: true, cid: record.cid, path: result.path, size: result.size, seconds: result.seconds })
      return result
    } finally {
      clearInterval(progressTimer)
      searching.abort()
      signal.removeEventListener('abort', onAbort)
      await source.close()
    }
  }
}
