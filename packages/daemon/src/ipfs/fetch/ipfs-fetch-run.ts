/**
 * One run of a UnixFS fetch, from its record to the share it becomes:
 * providers (the `--peer` hints dialed, every connected peer, DHT providers
 * of the root, looked up again while it runs), the walk and its
 * DagDownload, progress events, and at the end the part file or tree
 * renamed into place, a Shoal manifest made of it, its DAG kept, the share
 * registered and the root announced.
 */
import fs from 'node:fs/promises'
import { exists } from '../../storage/part-files.js'
import { multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { FetchEvent } from '@shoal/protocol'
import type { ComponentLogger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { DIAL_TIMEOUT_MS, PROGRESS_INTERVAL_MS, PROVIDER_SEARCH_MAX_MS, PROVIDER_SEARCH_MIN_MS } from '../../constants.js'
import type { Discovery } from '../../net/discovery.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import type { Records } from '../../storage/records.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import type { IpfsShares } from '../ipfs-shares.js'
import type { BitswapClient } from './bitswap-client.js'
import { DagDownload } from './dag-download.js'
import type { Reservation } from './dag-download.js'
import type { IpfsDownloadRecord, IpfsFetchRecords } from './fetch-records.js'
import { manifestOfSaved } from './fetched-share.js'
import { UnixfsTree } from './unixfs-tree.js'

export interface FetchRunComponents {
  node: ShoalLibp2p
  discovery: Pick<Discovery, 'findProviders' | 'announce'>
  client: BitswapClient
  fetchRecords: IpfsFetchRecords
  records: Records
  shares: ShareRegistry
  ipfsShares: IpfsShares
  logger: ComponentLogger
  stats?: { onDownloaded(peer: PeerId, bytes: number): void }
  /** Download caps (the node's BandwidthLimiter): wants are paced to them. */
  limiter?: { readonly limitsDownload: boolean, download(peer: PeerId, bytes: number): Reservation }
}

export interface FetchRunInit {
  cid: CID
  record: IpfsDownloadRecord
  resume: boolean
  signal: AbortSignal
  stallTimeoutMs?: number
  noProviderTimeoutMs?: number
}

/** What a finished run gives. */
export interface FetchRunResult {
  cid: string
  path: string
  size: number
  seconds: number
  /** The share it became. */
  share: string
}

/** See the module comment. */
export class FetchRun {
  readonly tree: UnixfsTree
  readonly download: DagDownload
  readonly listeners = new Set<(e: FetchEvent) => void>()
  private readonly c: FetchRunComponents
  private readonly init: FetchRunInit
  private readonly startedAt = Date.now()
  private readonly samples: Array<{ t: number, bytes: number }> = []
  private announcedManifest = false
  /** Done and recorded as a share: nothing to save for a resume any more. */
  private finished = false

  constructor (components: FetchRunComponents, init: FetchRunInit) {
    this.c = components
    this.init = init
    const log = components.logger.forComponent('shoal:ipfs:fetch')
    const { limiter } = components
    const progress = components.fetchRecords.progress(init.record.cid)
    this.tree = new UnixfsTree({ root: init.cid, partPath: init.record.partPath, progress, log, want: block => { this.download.want(block) } })
    this.download = new DagDownload({
      tree: this.tree,
      client: components.client,
      log,
      ...(init.stallTimeoutMs !== undefined ? { stallTimeoutMs: init.stallTimeoutMs } : {}),
      ...(init.noProviderTimeoutMs !== undefined ? { noProviderTimeoutMs: init.noProviderTimeoutMs } : {}),
      onDownloaded: (peer, bytes) => { components.stats?.onDownloaded(peer, bytes) },
      ...(limiter?.limitsDownload === true ? { pace: (peer: PeerId, bytes: number) => limiter.download(peer, bytes) } : {}),
      flush: async () => { await this.saveProgress() }
    })
  }

  /** The figures of `ls`/`status` while it runs. */
  info (): { size: number, received: number, chunks: number, chunksDone: number, peers: number, rate: number } {
    const done = this.download.scheduler.completed
    return { size: this.tree.size, received: this.tree.received, chunks: done + this.download.scheduler.missing, chunksDone: done, peers: this.download.peerCount, rate: this.rate() }
  }

  broadcast (event: FetchEvent): void {
    for (const l of this.listeners) l(event)
  }

  /** Run to the end; rejects with the signal's reason when aborted (progress kept). */
  async run (): Promise<FetchRunResult> {
    const { record, signal } = this.init
    const onAbort = (): void => { void this.download.abort(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    const searching = new AbortController()
    const timer = setInterval(() => { this.progressTick() }, PROGRESS_INTERVAL_MS)
    try {
      const hinted = await this.dialHints(record.peers, signal)
      this.broadcast({ type: 'resolving', cid: record.cid, providers: hinted.length + this.c.node.getPeers().length })
      this.download.start()
      for (const peer of [...hinted, ...this.c.node.getPeers()]) this.download.addProvider(peer)
      void this.keepLooking(AbortSignal.any([searching.signal, signal]))
      await this.tree.begin(this.init.resume)
      this.download.checkDone()
      await this.download.result
      this.progressTick()
      return await this.finish()
    } finally {
      clearInterval(timer)
      searching.abort()
      signal.removeEventListener('abort', onAbort)
      if (!this.finished) await this.saveProgress().catch(() => {})
      // a run that failed before awaiting the download (the tree's resume
      // check threw) stops it too: no wants, no ticks, no writes after close
      await this.download.abort(new ShoalError(ErrorCode.ABORTED, 'the fetch run ended'))
      await this.tree.close()
    }
  }

  private async finish (): Promise<FetchRunResult> {
    const { record } = this.init
    await this.tree.materialize()
    const kind = this.tree.kind ?? 'file'
    if (record.force) await fs.rm(record.out, { recursive: true, force: true })
    else if (await exists(record.out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${record.out} appeared while downloading; the download is kept at ${record.partPath}`)
    await fs.rename(record.partPath, record.out)
    const files = [...this.tree.files.values()].map(f => ({ path: f.path, size: f.size }))
    const saved = await manifestOfSaved({ kind, files, dirs: this.tree.dirs, leaves: this.tree.leaves }, record.out)
    const share = saved.cid.toString()
    const progress = this.c.fetchRecords.progress(record.cid)
    const blocks: Array<{ cid: CID, bytes: Uint8Array }> = []
    for (const [text, cid] of this.tree.nodes) {
      const bytes = await progress.getNode(text)
      if (bytes !== undefined) blocks.push({ cid, bytes })
    }
    const fileRoots = saved.manifest.files.map(f => this.tree.entries.get(f.path) ?? this.init.cid)
    // the DAG first, so the registry's "added" finds the share laid out as it was fetched
    await this.c.records.putManifest(share, saved.bytes)
    await this.c.ipfsShares.addFetched(share, { root: this.init.cid, fileRoots, blocks, leaves: saved.leaves })
    await this.c.shares.addFetched(share, record.name, record.out, saved.bytes)
    this.c.discovery.announce(this.init.cid)
    this.finished = true
    await this.c.fetchRecords.delete(record.cid)
    const result = { cid: record.cid, path: record.out, size: this.tree.size, seconds: (Date.now() - this.startedAt) / 1000, share }
    this.broadcast({ type: 'done', done: true, cid: record.cid, path: result.path, size: result.size, seconds: result.seconds })
    return result
  }

  private async saveProgress (): Promise<void> {
    await this.tree.flush()
    await this.c.fetchRecords.put({ ...this.init.record, size: this.tree.size, received: this.tree.received })
  }

  private progressTick (): void {
    const info = this.info()
    this.samples.push({ t: Date.now(), bytes: info.received })
    if (!this.announcedManifest && this.tree.kind !== undefined) {
      this.announcedManifest = true
      this.broadcast({ type: 'manifest', cid: this.init.record.cid, name: this.init.record.name, kind: this.tree.kind, size: info.size, files: this.tree.files.size, chunks: info.chunks, path: this.init.record.out })
    }
    this.broadcast({ type: 'progress', cid: this.init.record.cid, ...info })
  }

  private rate (): number {
    const now = Date.now()
    while (this.samples.length > 1 && now - (this.samples[0] as { t: number }).t > 5000) this.samples.shift()
    const first = this.samples[0]
    if (first === undefined) return 0
    const span = Math.max(1000, now - first.t)
    return Math.round((this.tree.received - first.bytes) * 1000 / span)
  }

  /** Dial the `--peer` hints; the peers reached. */
  private async dialHints (addrs: string[], signal: AbortSignal): Promise<PeerId[]> {
    const log = this.c.logger.forComponent('shoal:ipfs:fetch')
    const reached = await Promise.all(addrs.map(async addr => {
      try {
        const conn = await this.c.node.dial(multiaddr(addr), { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
        return conn.remotePeer
      } catch (err) {
        log('cannot dial provider hint %s: %e', addr, err)
        return undefined
      }
    }))
    return reached.filter((p): p is PeerId => p !== undefined)
  }

  /** While it runs: connected peers and DHT providers of the root become providers. */
  private async keepLooking (signal: AbortSignal): Promise<void> {
    let delay = PROVIDER_SEARCH_MIN_MS
    while (!signal.aborted) {
      for (const peer of this.c.node.getPeers()) this.download.addProvider(peer)
      for await (const peer of this.c.discovery.findProviders(this.init.cid, signal)) {
        if (this.download.hasProvider(peer)) continue
        try {
          await this.c.node.dial(peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
          this.download.addProvider(peer)
        } catch { /* unreachable provider: the next round may find it reachable */ }
      }
      // (its abort listener goes with its timer: one added per round piled up on the signal)
      await new Promise<void>(resolve => {
        const t = setTimeout(done, delay)
        t.unref()
        function done (): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve() }
        signal.addEventListener('abort', done, { once: true })
      })
      delay = Math.min(PROVIDER_SEARCH_MAX_MS, delay * 2)
    }
  }
}
