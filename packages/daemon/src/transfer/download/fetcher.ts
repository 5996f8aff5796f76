/**
 * The download side of a node: `Fetcher` turns an id or ticket into a running
 * {@link Download} — providers found (provider-search.ts), manifest verified
 * and part files made (download-setup.ts), sessions opened to every provider
 * (download-peers.ts, peer-session.ts), chunks chosen by the ChunkPicker — and
 * owns each download's life: attach, pause, cancel, resume at start, stop.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, ShoalError, parseContentId, toShoalError } from '@shoal/protocol'
import type { FetchEvent, FilesResult, ShareInfo, TransferInfo } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import type { Discovery } from '../../net/discovery.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { RelayBudgets } from '../../net/relay-budget.js'
import type { ChunkSource } from '../../storage/chunk-source.js'
import type { Records } from '../../storage/records.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { ActiveDownload, type ActiveDownloadComponents } from './active-download.js'
import type { DownloadResult } from './download.js'
import { doneInfo, recordedInfo } from './download-info.js'
import { parseTarget, setUpDownload } from './download-setup.js'
import type { FetchTarget, PreparedDownload } from './download-setup.js'
import { Holdings } from './holdings.js'
import { covers, haltError, recordEnd, untilAborted } from './fetch-control.js'
import type { Control, Halt, Starting } from './fetch-control.js'
import { ProviderSearch } from './provider-search.js'
import { Readers } from './readers.js'
import { ReaderCache } from './reader-cache.js'
import { DEFAULT_READER_CACHE_BYTES } from '../../constants.js'
import { ContentReader } from './content-reader.js'
import type { FileRead, ReadOptions } from './content-reader.js'

export interface FetchOptions {
  /** Absolute output path. A trailing `/` means "save into this directory". @default `<cwd>/<name>`, or where a paused download of the id is */
  out?: string
  /** Where `<name>` goes when `out` is not given. @default process.cwd() */
  cwd?: string
  /** Replace an existing output. @default false */
  force?: boolean
  /** Pauses the fetch: progress is kept. */
  signal?: AbortSignal
  /** Fetch only the files these patterns select, added to an earlier selection of the id. */
  only?: string[]
  /** Typed progress events. */
  onProgress?: (event: FetchEvent) => void
  /** How long to look for a provider before NO_PROVIDERS. @default RESOLVE_TIMEOUT_MS */
  resolveTimeoutMs?: number
}

/** What the fetcher uses of the node; `chunkMaps`: where running downloads put their chunk maps (the web UI). */
export interface FetcherComponents extends Pick<ActiveDownloadComponents, 'chunkMaps'> {
  node: ShoalLibp2p
  records: Records
  shares: ShareRegistry
  discovery: Discovery
  /** Told of every chunk a peer sent: verified (with its bytes) or failing its hash. */
  stats: { onDownloaded(peer: PeerId, bytes: number): void, onChunkVerified(): void, onChunkRejected(): void }
  /** Download caps; requests are paced to them. */
  limiter?: BandwidthLimiter
}

export interface FetcherInit {
  /** Fail a download when no chunk arrived for this long. @default STALL_TIMEOUT_MS */
  stallTimeoutMs?: number
  /** How long a bare content id is looked up before NO_PROVIDERS. @default RESOLVE_TIMEOUT_MS */
  resolveTimeoutMs?: number
  /** Where chunks fetched for readers go when there is no download of the root (`<repo>/partial`). */
  partialDir: string
  /** Bytes those may take before the least recently read go (ReaderCache); 0: no limit. @default DEFAULT_READER_CACHE_BYTES */
  cacheBytes?: number
  /** A root read this recently stays in that cache. @default READER_CACHE_GRACE_MS */
  cacheGraceMs?: number
}

interface ActiveFetch {
  active: ActiveDownload
  done: Promise<DownloadResult>
  control: Control
}

/** Internal: called with the download's figures once it runs (or at once, when attaching to a running one). */
type OnRunning = (info: TransferInfo) => void

/** Resolves an id or ticket to providers, fetches the manifest, runs the download. */
export class Fetcher {
  private readonly log: Logger
  private readonly c: FetcherComponents
  private readonly init: FetcherInit
  private readonly active = new Map<string, ActiveFetch>()
  private readonly starting = new Map<string, Starting>()
  private readonly banned = new Set<string>()
  private readonly budgets = new RelayBudgets()
  private readonly search: ProviderSearch
  /** What this node holds of roots it does not hold completely: running downloads and partial ones at rest. */
  readonly holdings: Holdings
  /** Readers of roots being fetched for them (`cat`, the gateway). */
  readonly readers = new Readers()
  /** What was fetched for readers alone, kept under a limit. */
  readonly cache: ReaderCache
  private stopping = false

  /** Reads files of any share, fetching what is not held. */
  private readonly reader: ContentReader

  constructor (components: FetcherComponents, init: FetcherInit) {
    this.log = components.node.logger.forComponent('shoal:fetch')
    this.c = components
    this.init = init
    this.search = new ProviderSearch({ node: components.node, discovery: components.discovery, banned: this.banned })
    this.holdings = new Holdings({ records: components.records, shares: components.shares, logger: components.node.logger })
    this.cache = new ReaderCache({
      limit: init.cacheBytes ?? DEFAULT_READER_CACHE_BYTES,
      holdings: () => this.holdings.map.values(),
      busy: cid => this.active.has(cid) || this.starting.has(cid) || this.readers.reading(cid),
      remove: async cid => { await this.cancel(cid) },
      log: components.node.logger.forComponent('shoal:reader-cache'),
      ...(init.cacheGraceMs !== undefined ? { graceMs: init.cacheGraceMs } : {})
    })
    this.reader = new ContentReader({
      ...components,
      search: this.search,
      readers: this.readers,
      holdings: this.holdings.map,
      loadHolding: async (r, bytes, fresh, layout) => await this.holdings.load(r, bytes, fresh, layout),
      ensureReaderRun: async cid => { await this.ensureReaderRun(cid) },
      partialDir: init.partialDir
    })
    // hole punching (DCUtR) or a direct dial succeeded: move sessions off the relay
    components.node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      if (conn.limits !== undefined || this.stopping) return
      for (const entry of this.active.values()) entry.active.peers.directConnection(conn.remotePeer)
    })
  }

  /** Downloads running now. */
  transfers (): TransferInfo[] {
    return [...this.active.values()].map(a => a.active.download.info())
  }

  /** Every download this node knows: running ones, then paused, interrupted and failed ones from the records (partial ones are shares). */
  async downloads (): Promise<TransferInfo[]> {
    const out = this.transfers()
    for (const d of await this.c.records.listDownloads()) {
      if (this.active.has(d.cid) || d.state === 'partial') continue
      out.push(await recordedInfo(this.c.records, d, this.starting.has(d.cid)))
    }
    return out
  }

  /** The verified part of a download in progress, or of a partial share at rest, for serving to others. */
  partialSource (cid: string): ChunkSource | undefined {
    return this.holdings.get(cid)?.source
  }

  /** Partial shares at rest: a completed `--only` selection, chunks fetched for readers. */
  partialShares (): ShareInfo[] {
    return this.holdings.partialShares(cid => this.active.has(cid))
  }

  /**
   * Make sure a download run of `cid` serves its readers: none runs (or is
   * being set up) → start one for them alone, on its record. Resolves once
   * one runs.
   */
  async ensureReaderRun (cid: string): Promise<void> {
    if (this.active.has(cid)) return
    const starting = this.starting.get(cid)
    if (starting !== undefined) {
      await starting.settled
      if (this.active.has(cid)) return
    }
    await new Promise<void>((resolve, reject) => {
      let settled = false
      this.begin({ cid: parseContentId(cid), hints: [] }, {}, () => { if (!settled) { settled = true; resolve() } }, true).then(() => {
        if (!settled) { settled = true; resolve() }
      }, err => {
        if (!settled) { settled = true; reject(err); return }
        this.log('reader run of %s ended: %e', cid, err)
      })
    })
  }

  /** The files of share `id` (content id or ticket) and how much of each this node holds. */
  async files (id: string, options: { local?: boolean, signal?: AbortSignal, resolveTimeoutMs?: number } = {}): Promise<FilesResult> {
    return await this.reader.files(parseTarget(id), { resolveTimeoutMs: this.init.resolveTimeoutMs, ...options })
  }

  /** Open one file of share `id` (held or not) for reading, or a byte range of it. */
  async open (id: string, filePath: string | undefined, options: ReadOptions = {}): Promise<FileRead> {
    if (this.stopping) throw new ShoalError(ErrorCode.NOT_STARTED, 'the daemon is stopping')
    const target = parseTarget(id)
    this.cache.touch(target.cid.toString())
    return await this.reader.open(target, filePath, { resolveTimeoutMs: this.init.resolveTimeoutMs, ...options })
  }

  /** Download `id` (content id or ticket); resolves once every chunk is verified and in place. */
  async fetch (id: string, options: FetchOptions = {}): Promise<DownloadResult> {
    return await this.begin(parseTarget(id), options)
  }

  /**
   * Start or resume a download and resolve as soon as it runs (its manifest
   * known and its record stored); it goes on in the node. Failures before
   * that (a bad id, no provider, an existing path) reject.
   */
  async startDetached (id: string, options: FetchOptions = {}): Promise<TransferInfo> {
    const target = parseTarget(id)
    const cid = target.cid.toString()
    return await new Promise<TransferInfo>((resolve, reject) => {
      let settled = false
      const onRunning = (info: TransferInfo): void => { if (!settled) { settled = true; resolve(info) } }
      this.begin(target, options, onRunning).then(result => {
        if (!settled) { settled = true; resolve(doneInfo(result)) }
      }, err => {
        if (!settled) { settled = true; reject(err); return }
        this.log('detached fetch of %s ended: %e', cid, err)
      })
    })
  }

  /**
   * Pause a download: it stops, keeps what it verified, and stays paused
   * across restarts until fetched again. NOT_FOUND when the node has no
   * download of `cid`.
   */
  async pause (cid: string): Promise<TransferInfo> {
    const id = parseContentId(cid).toString()
    // a partial share is not downloading: readers fetch what they read, and that is not paused
    if ((await this.c.records.getDownload(id))?.state === 'partial') throw new ShoalError(ErrorCode.NOT_FOUND, `${id} is a partial share here, not a download: nothing to pause (\`shoal cancel ${id}\` forgets it)`)
    await this.halt(id, 'pause')
    const record = await this.c.records.getDownload(id)
    if (record === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `no download of ${id} to pause (it finished, or was never started here)`)
    if (record.state !== 'paused') {
      const { error: _error, ...rest } = record
      await this.c.records.putDownload({ ...rest, state: 'paused' })
    }
    return await recordedInfo(this.c.records, { ...record, state: 'paused' }, false)
  }

  /**
   * Cancel a download: stop it and remove its `.part` files and its record.
   * NOT_FOUND when the node has no download of `cid`.
   */
  async cancel (cid: string): Promise<{ cid: string, cancelled: true }> {
    const id = parseContentId(cid).toString()
    await this.halt(id, 'cancel')
    const record = await this.c.records.getDownload(id)
    if (record === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `no download of ${id} to cancel (it finished, or was never started here)`)
    await this.holdings.drop(id)
    await fs.rm(record.partPath, { recursive: true, force: true })
    await this.c.records.deleteDownload(id)
    if (this.c.shares.get(id) === undefined) await this.c.records.deleteManifest(id)
    this.log('cancelled %s, removed %s', id, record.partPath)
    return { cid: id, cancelled: true }
  }

  /**
   * Resume every download that was running when the daemon last stopped or
   * was killed (as a torrent client does); paused ones stay paused. Failures
   * are recorded, not thrown.
   */
  async resumeAll (): Promise<number> {
    const recorded = await this.c.records.listDownloads()
    // partial shares are served at rest
    await this.holdings.loadPartials(recorded)
    void this.cache.trim()
    const pending = recorded.filter(d => d.state === 'active')
    for (const d of pending) {
      this.log('resuming %s into %s', d.cid, d.out)
      this.begin({ cid: parseContentId(d.cid), hints: d.providers, name: d.name }, { ...(d.out !== undefined ? { out: d.out } : {}), force: d.force, ...(d.only !== undefined ? { only: d.only } : {}) }).catch(err => {
        this.log.error('resuming %s failed: %e', d.cid, err)
      })
    }
    return pending.length
  }

  /** Stop every download, keeping progress: they resume at the next start. */
  async stop (): Promise<void> {
    this.stopping = true
    this.cache.close()
    for (const s of this.starting.values()) s.controller.abort(new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume'))
    const stopping = new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume')
    await Promise.allSettled([
      ...[...this.active.values()].map(async a => { await a.active.download.abort(stopping) }),
      ...[...this.starting.values()].map(async s => { await s.settled })
    ])
    await this.holdings.close()
  }

  /** Stop a running or starting download of `id` for `why`, and wait until it has stopped. */
  private async halt (id: string, why: Halt): Promise<void> {
    const starting = this.starting.get(id)
    if (starting !== undefined) {
      starting.halt = why
      starting.controller.abort(haltError(id, why))
      await starting.settled
    }
    const running = this.active.get(id)
    if (running !== undefined) {
      running.control.halt = why
      running.control.controller.abort(haltError(id, why))
      await running.done.catch(() => {})
    }
  }

  private async begin (target: FetchTarget, options: FetchOptions, onRunning?: OnRunning, readersOnly = false): Promise<DownloadResult> {
    const cid = target.cid.toString()
    const running = this.active.get(cid)
    if (running !== undefined) {
      if (readersOnly) { onRunning?.(running.active.download.info()); return await running.done }
      // a run for readers makes way for the fetch, which serves them too
      if (running.active.readersOnly) { await this.halt(cid, 'handover'); return await this.begin(target, options, onRunning) }
      // a selective fetch runs: more files are added once it is done
      if (!covers(running.active.download.record.only, options.only)) { await untilAborted(running.done.then(() => {}, () => {}), options.signal); return await this.begin(target, options, onRunning) }
      onRunning?.(running.active.download.info())
      return await this.attach(running, options)
    }
    // the same id being set up (a resume at start-up re-hashes what it holds): wait, then attach
    const starting = this.starting.get(cid)
    if (starting !== undefined) {
      await untilAborted(starting.settled, options.signal)
      return await this.begin(target, options, onRunning, readersOnly)
    }
    if (this.stopping) throw new ShoalError(ErrorCode.NOT_STARTED, 'the daemon is stopping')
    // reject a bad output path before any network work
    if (options.out !== undefined && options.out !== '' && !path.isAbsolute(options.out)) {
      throw new ShoalError(ErrorCode.INVALID_PATH, `output path must be absolute: ${options.out}`)
    }
    const controller = new AbortController()
    let settle = (): void => {}
    const entry: Starting = { settled: new Promise<void>(resolve => { settle = resolve }), controller }
    this.starting.set(cid, entry)
    const userSignal = options.signal
    const onUserAbort = (): void => { entry.halt ??= 'pause'; controller.abort(haltError(cid, entry.halt)) }
    userSignal?.addEventListener('abort', onUserAbort, { once: true })
    if (userSignal?.aborted === true) onUserAbort()
    const settled = (): void => { if (this.starting.get(cid) === entry) this.starting.delete(cid); settle() }
    let setUp = false
    try {
      const prepared = await this.prepare(target, options, controller.signal, readersOnly)
      setUp = true
      const result = await this.run(prepared, options, entry, readersOnly, () => { settled(); onRunning?.(this.active.get(cid)?.active.download.info() ?? doneInfo({ cid, path: prepared.record.out ?? prepared.record.partPath, size: prepared.layout.totalSize, seconds: 0 })) })
      this.readers.ended(cid)
      return result
    } catch (err) {
      // aborted: paused or cancelled, or the daemon is stopping, unless it failed for a reason of its own first
      const error = controller.signal.aborted && !(err instanceof ShoalError && err.code !== ErrorCode.ABORTED)
        ? (entry.halt !== undefined ? haltError(cid, entry.halt) : new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume', { cause: err }))
        : toShoalError(err)
      if (!readersOnly) await recordEnd(this.c.records, this.log, { cid, halt: entry.halt, error, setUp, stopping: this.stopping })
      this.readers.ended(cid, entry.halt === 'handover' ? undefined : error)
      throw error
    } finally {
      userSignal?.removeEventListener('abort', onUserAbort)
      settled()
      await this.holdings.settle(cid, () => this.active.has(cid) || this.starting.has(cid))
      void this.cache.trim()
    }
  }

  /** Set the download up; on resume, re-verify what the bitfield claims. */
  private async prepare (target: FetchTarget, options: FetchOptions, signal: AbortSignal, readersOnly: boolean): Promise<PreparedDownload> {
    return await setUpDownload({ node: this.c.node, records: this.c.records, search: this.search, holdings: this.holdings }, target, {
      ...(options.only !== undefined ? { only: options.only } : {}),
      readers: readersOnly,
      ...(options.out !== undefined ? { out: options.out } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      force: options.force === true,
      resolveTimeoutMs: options.resolveTimeoutMs ?? this.init.resolveTimeoutMs,
      signal,
      emit: options.onProgress ?? (() => {})
    })
  }

  /** Run a prepared download to its end; `running` is called once others can attach to it. */
  private async run (p: PreparedDownload, options: FetchOptions, control: Control, readersOnly: boolean, running: () => void): Promise<DownloadResult> {
    const resolveTimeoutMs = options.resolveTimeoutMs ?? this.init.resolveTimeoutMs
    const active = new ActiveDownload({ ...this.c, search: this.search, budgets: this.budgets, readers: this.readers, ban: peer => { this.banned.add(peer.toString()) } }, p, {
      ...(this.init.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.init.stallTimeoutMs } : {}),
      ...(resolveTimeoutMs !== undefined ? { noProviderTimeoutMs: resolveTimeoutMs } : {}),
      signal: control.controller.signal,
      readersOnly
    })
    // resuming a fetch: re-hash what the stored bitfield claims (readers re-hash every chunk they read)
    if (!readersOnly && p.holding.unverified) {
      await active.download.verifyHeld()
      p.holding.unverified = false
    }
    // what readers wait for and this node holds already needs no fetching
    this.readers.alreadyHeld(p.record.cid, i => p.holding.have.has(i))
    if (control.controller.signal.aborted) {
      active.download.wants.unbind()
      throw control.controller.signal.reason
    }
    if (options.onProgress !== undefined) active.listeners.add(options.onProgress)
    const done = active.run()
    this.active.set(p.record.cid, { active, done, control })
    running()
    try {
      return await done
    } finally {
      this.active.delete(p.record.cid)
    }
  }

  private async attach (running: ActiveFetch, options: FetchOptions): Promise<DownloadResult> {
    const listener = options.onProgress
    if (listener !== undefined) running.active.listeners.add(listener)
    const onAbort = (): void => { void this.pause(running.active.download.record.cid).catch(() => {}) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await running.done
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      if (listener !== undefined) running.active.listeners.delete(listener)
    }
  }
}
