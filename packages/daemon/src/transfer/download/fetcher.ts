/**
 * The download side of a node: `Fetcher` turns an id or ticket into a running
 * {@link Download} — providers found (provider-search.ts), manifest verified
 * and part files made (download-setup.ts), sessions opened to every provider
 * (download-peers.ts, peer-session.ts), chunks chosen by the ChunkPicker — and
 * owns each download's life: attach, pause, cancel, resume at start, stop.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { logger } from '@libp2p/logger'
import { ErrorCode, ShoalError, chunkCountOf, parseContentId, toShoalError } from '@shoal/protocol'
import type { FetchEvent, TransferInfo } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { PROGRESS_INTERVAL_MS } from '../../constants.js'
import type { Discovery } from '../../net/discovery.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { RelayBudgets } from '../../net/relay-budget.js'
import type { ChunkSource } from '../../storage/chunk-source.js'
import { PartialSource } from '../../storage/partial-source.js'
import type { DownloadRecord, FileStamp, Records } from '../../storage/records.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import { Download } from './download.js'
import type { DownloadResult } from './download.js'
import { DownloadPeers } from './download-peers.js'
import { parseTarget, setUpDownload, storedManifest } from './download-setup.js'
import type { FetchTarget, PreparedDownload } from './download-setup.js'
import { ProviderSearch } from './provider-search.js'

const log = logger('shoal:fetch')

export interface FetchOptions {
  /** Absolute output path. A trailing `/` means "save into this directory". @default `<cwd>/<name>`, or where a paused download of the id is */
  out?: string
  /** Where `<name>` goes when `out` is not given. @default process.cwd() */
  cwd?: string
  /** Replace an existing output. @default false */
  force?: boolean
  /** Pauses the fetch: progress is kept. */
  signal?: AbortSignal
  /** Typed progress events. */
  onProgress?: (event: FetchEvent) => void
  /** How long to look for a provider before NO_PROVIDERS. @default RESOLVE_TIMEOUT_MS */
  resolveTimeoutMs?: number
}

export interface FetcherComponents {
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
}

/** Why a download is being stopped before it finished; decides its recorded state. */
type Halt = 'pause' | 'cancel'

/** How one fetch is stopped early: its abort controller, and why it was aborted. */
interface Control {
  controller: AbortController
  halt?: Halt
}

/** A fetch being set up (manifest, part files, re-hashing on resume), not yet running. */
interface Starting extends Control {
  settled: Promise<void>
}

interface ActiveFetch {
  download: Download
  source: PartialSource
  peers: DownloadPeers
  listeners: Set<(e: FetchEvent) => void>
  done: Promise<DownloadResult>
  control: Control
}

/** Internal: called with the download's figures once it runs (or at once, when attaching to a running one). */
type OnRunning = (info: TransferInfo) => void

/** Resolves an id or ticket to providers, fetches the manifest, runs the download. */
export class Fetcher {
  private readonly c: FetcherComponents
  private readonly init: FetcherInit
  private readonly active = new Map<string, ActiveFetch>()
  private readonly starting = new Map<string, Starting>()
  private readonly banned = new Set<string>()
  private readonly budgets = new RelayBudgets()
  private readonly search: ProviderSearch
  private stopping = false

  constructor (components: FetcherComponents, init: FetcherInit = {}) {
    this.c = components
    this.init = init
    this.search = new ProviderSearch({ node: components.node, discovery: components.discovery, banned: this.banned })
    // hole punching (DCUtR) or a direct dial succeeded: move sessions off the relay
    components.node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      if (conn.limits !== undefined || this.stopping) return
      for (const entry of this.active.values()) entry.peers.directConnection(conn.remotePeer)
    })
  }

  /** Downloads running now. */
  transfers (): TransferInfo[] {
    return [...this.active.values()].map(a => a.download.info())
  }

  /** Every download this node knows: running ones, then paused, interrupted and failed ones from the records. */
  async downloads (): Promise<TransferInfo[]> {
    const out = this.transfers()
    for (const d of await this.c.records.listDownloads()) {
      if (this.active.has(d.cid)) continue
      out.push(await this.recordedInfo(d))
    }
    return out
  }

  /** The verified part of a download in progress, for serving to others. */
  partialSource (cid: string): ChunkSource | undefined {
    return this.active.get(cid)?.source
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
        log('detached fetch of %s ended: %e', cid, err)
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
    await this.halt(id, 'pause')
    const record = await this.c.records.getDownload(id)
    if (record === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `no download of ${id} to pause (it finished, or was never started here)`)
    if (record.state !== 'paused') {
      const { error: _error, ...rest } = record
      await this.c.records.putDownload({ ...rest, state: 'paused' })
    }
    return await this.recordedInfo({ ...record, state: 'paused' })
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
    await fs.rm(record.partPath, { recursive: true, force: true })
    await this.c.records.deleteDownload(id)
    if (this.c.shares.get(id) === undefined) await this.c.records.deleteManifest(id)
    log('cancelled %s, removed %s', id, record.partPath)
    return { cid: id, cancelled: true }
  }

  /**
   * Resume every download that was running when the daemon last stopped or
   * was killed (as a torrent client does); paused ones stay paused. Failures
   * are recorded, not thrown.
   */
  async resumeAll (): Promise<number> {
    const pending = (await this.c.records.listDownloads()).filter(d => d.state === 'active')
    for (const d of pending) {
      log('resuming %s into %s', d.cid, d.out)
      this.begin({ cid: parseContentId(d.cid), hints: d.providers, name: d.name }, { out: d.out, force: d.force }).catch(err => {
        log.error('resuming %s failed: %e', d.cid, err)
      })
    }
    return pending.length
  }

  /** Stop every download, keeping progress: they resume at the next start. */
  async stop (): Promise<void> {
    this.stopping = true
    for (const s of this.starting.values()) s.controller.abort(new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume'))
    const stopping = new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume')
    await Promise.allSettled([
      ...[...this.active.values()].map(async a => { await a.download.abort(stopping) }),
      ...[...this.starting.values()].map(async s => { await s.settled })
    ])
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

  private async begin (target: FetchTarget, options: FetchOptions, onRunning?: OnRunning): Promise<DownloadResult> {
    const cid = target.cid.toString()
    const running = this.active.get(cid)
    if (running !== undefined) {
      onRunning?.(running.download.info())
      return await this.attach(running, options)
    }
    // the same id being set up (a resume at start-up re-hashes what it holds): wait, then attach
    const starting = this.starting.get(cid)
    if (starting !== undefined) {
      await untilAborted(starting.settled, options.signal)
      return await this.begin(target, options, onRunning)
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
    const onUserAbort = (): void => { entry.halt ??= 'pause'; controller.abort(userSignal?.reason) }
    userSignal?.addEventListener('abort', onUserAbort, { once: true })
    if (userSignal?.aborted === true) onUserAbort()
    const settled = (): void => { if (this.starting.get(cid) === entry) this.starting.delete(cid); settle() }
    try {
      const prepared = await this.prepare(target, options, controller.signal)
      return await this.run(prepared, options, entry, () => { settled(); onRunning?.(this.active.get(cid)?.download.info() ?? doneInfo({ cid, path: prepared.record.out, size: prepared.layout.totalSize, seconds: 0 })) })
    } catch (err) {
      // aborted: paused or cancelled, or the daemon is stopping, unless it failed for a reason of its own first
      const error = controller.signal.aborted && !(err instanceof ShoalError && err.code !== ErrorCode.ABORTED)
        ? (entry.halt !== undefined ? haltError(cid, entry.halt) : new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume', { cause: err }))
        : toShoalError(err)
      await this.recordEnd(cid, entry.halt, error)
      throw error
    } finally {
      userSignal?.removeEventListener('abort', onUserAbort)
      settled()
    }
  }

  /** Set the download up; on resume, re-verify what the bitfield claims. */
  private async prepare (target: FetchTarget, options: FetchOptions, signal: AbortSignal): Promise<PreparedDownload> {
    return await setUpDownload({ node: this.c.node, records: this.c.records, search: this.search }, target, {
      ...(options.out !== undefined ? { out: options.out } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      force: options.force === true,
      resolveTimeoutMs: options.resolveTimeoutMs ?? this.init.resolveTimeoutMs,
      signal,
      emit: options.onProgress ?? (() => {})
    })
  }

  /** Run a prepared download to its end; `running` is called once others can attach to it. */
  private async run (p: PreparedDownload, options: FetchOptions, control: Control, running: () => void): Promise<DownloadResult> {
    const { record, layout, part, fetched } = p
    const { controller } = control
    const resolveTimeoutMs = options.resolveTimeoutMs ?? this.init.resolveTimeoutMs
    const cid = parseContentId(record.cid)
    const download = new Download({
      record,
      layout,
      part,
      records: this.c.records,
      ...(p.have !== undefined ? { have: p.have } : {}),
      ...(this.init.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.init.stallTimeoutMs } : {}),
      ...(resolveTimeoutMs !== undefined ? { noProviderTimeoutMs: resolveTimeoutMs } : {}),
      onDownloaded: (peer, bytes) => { this.c.stats.onChunkVerified(); this.c.stats.onDownloaded(peer, bytes) },
      onBadPeer: (peer) => { this.c.stats.onChunkRejected(); this.banned.add(peer.toString()) },
      onPeers: (addrs) => { void peers.suggested(addrs) },
      onChunk: (index) => {
        source.gained(index)
        // a downloader is a provider as soon as it holds a verified chunk
        this.c.discovery.announce(cid)
      }
    })
    const source = new PartialSource({
      cid: record.cid,
      name: record.name,
      layout,
      manifestBytes: fetched.bytes,
      have: download.have,
      part,
      finished: () => this.c.shares.lookup(record.cid)
    })
    const peers = new DownloadPeers({
      node: this.c.node,
      download,
      cid,
      budgets: this.budgets,
      ...(this.c.limiter !== undefined ? { limiter: this.c.limiter } : {}),
      excluded: peer => this.search.excluded(peer),
      signal: controller.signal
    })
    if (p.have !== undefined) await download.verifyHeld()
    if (controller.signal.aborted) {
      await part.close()
      throw controller.signal.reason
    }
    const listeners = new Set<(e: FetchEvent) => void>()
    if (options.onProgress !== undefined) listeners.add(options.onProgress)
    const done = this.runDownload(download, source, peers, p, controller.signal)
    const entry: ActiveFetch = { download, source, peers, listeners, done, control }
    this.active.set(record.cid, entry)
    running()

    const broadcast = (e: FetchEvent): void => { for (const l of listeners) l(e) }
    broadcast({ type: 'manifest', cid: record.cid, name: record.name, kind: fetched.manifest.kind, size: layout.totalSize, files: fetched.manifest.files.length, chunks: layout.chunkCount, path: record.out })
    const progressTimer = setInterval(() => { broadcast(progressEvent(download)) }, PROGRESS_INTERVAL_MS)
    try {
      const result = await done
      broadcast(progressEvent(download))
      broadcast({ type: 'done', done: true, cid: record.cid, path: result.path, size: result.size, seconds: result.seconds })
      return result
    } finally {
      clearInterval(progressTimer)
      this.active.delete(record.cid)
    }
  }

  private async runDownload (download: Download, source: PartialSource, peers: DownloadPeers, p: PreparedDownload, signal: AbortSignal): Promise<DownloadResult> {
    const { record, fetched } = p
    const onAbort = (): void => { void download.abort(toShoalError(signal.reason)) }
    signal.addEventListener('abort', onAbort, { once: true })
    const searching = new AbortController()
    try {
      download.start()
      if (!download.isFinished) {
        // sessions open in the background: a slow provider never holds up the others
        void peers.open(p.providers)
        void this.search.keepLooking(parseContentId(record.cid), p.providers, async found => { if (!download.isFinished) await peers.open(found) }, AbortSignal.any([searching.signal, signal]))
      }
      const result = await download.result
      const stamps = await stampsOf(result.path, fetched.manifest.kind === 'file', fetched.manifest.files)
      await this.c.shares.addFetched(record.cid, record.name, result.path, fetched.bytes, stamps)
      source.markComplete()
      this.c.discovery.announce(parseContentId(record.cid))
      await this.c.records.deleteDownload(record.cid)
      return result
    } finally {
      searching.abort()
      signal.removeEventListener('abort', onAbort)
      await source.close()
    }
  }

  /** Record how a download ended short of done: paused, left to resume (daemon stopping), or failed. */
  private async recordEnd (cid: string, halt: Halt | undefined, error: ShoalError): Promise<void> {
    if (halt === 'cancel') return // cancel() removes the record itself
    const record = await this.c.records.getDownload(cid).catch(() => undefined)
    if (record === undefined) return // failed before it was set up: nothing to resume
    const { error: _old, ...rest } = record
    let next: DownloadRecord | undefined
    if (halt === 'pause') next = { ...rest, state: 'paused' }
    else if (!this.stopping) next = { ...rest, state: 'failed', error: error.toJSON() }
    // stopped with the daemon: stays 'active' and resumes at the next start
    if (next !== undefined) await this.c.records.putDownload(next).catch(e => { log.error('cannot record that %s ended: %e', cid, e) })
  }

  private async attach (running: ActiveFetch, options: FetchOptions): Promise<DownloadResult> {
    const listener = options.onProgress
    if (listener !== undefined) running.listeners.add(listener)
    const onAbort = (): void => { void this.pause(running.download.record.cid).catch(() => {}) }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      return await running.done
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      if (listener !== undefined) running.listeners.delete(listener)
    }
  }

  /** A download that is not running, as its record, stored bitfield and manifest describe it. */
  private async recordedInfo (d: DownloadRecord): Promise<TransferInfo> {
    // recorded 'active' but not running: interrupted, and not being resumed now
    const state = d.state === 'active' && !this.starting.has(d.cid) ? 'paused' : d.state
    const info: TransferInfo = { cid: d.cid, path: d.out, state, size: 0, received: 0, chunks: 0, chunksDone: 0, peers: 0, rate: 0, ...(d.error !== undefined ? { error: d.error } : {}) }
    const stored = await storedManifest(this.c.records, parseContentId(d.cid), d.name).catch(() => undefined)
    if (stored === undefined) return info
    const { chunkSize, files } = stored.manifest
    info.size = files.reduce((n, f) => n + f.size, 0)
    info.chunks = files.reduce((n, f) => n + chunkCountOf(f.size, chunkSize), 0)
    const bits = await this.c.records.getBitfield(d.cid).catch(() => undefined)
    if (bits !== undefined) {
      let chunk = 0
      for (const f of files) {
        const count = chunkCountOf(f.size, chunkSize)
        for (let i = 0; i < count; i++, chunk++) {
          if ((((bits[chunk >> 3] ?? 0) >> (7 - (chunk & 7))) & 1) === 1) {
            info.chunksDone++
            info.received += i === count - 1 ? f.size - i * chunkSize : chunkSize
          }
        }
      }
    }
    return info
  }
}

function haltError (cid: string, why: Halt): ShoalError {
  return why === 'pause'
    ? new ShoalError(ErrorCode.ABORTED, `download paused; \`shoal fetch ${cid}\` resumes it`)
    : new ShoalError(ErrorCode.ABORTED, 'download cancelled')
}

function doneInfo (r: DownloadResult): TransferInfo {
  return { cid: r.cid, path: r.path, state: 'done', size: r.size, received: r.size, chunks: 0, chunksDone: 0, peers: 0, rate: 0 }
}

async function stampsOf (root: string, single: boolean, files: Array<{ path: string }>): Promise<FileStamp[]> {
  const stamps: FileStamp[] = []
  for (const file of files) {
    const p = single ? root : path.join(root, ...file.path.split('/'))
    const st = await fs.stat(p)
    stamps.push({ size: st.size, mtimeMs: st.mtimeMs })
  }
  return stamps
}

function progressEvent (d: Download): FetchEvent {
  const info = d.info()
  return { type: 'progress', cid: info.cid, received: info.received, size: info.size, chunksDone: info.chunksDone, chunks: info.chunks, peers: info.peers, rate: info.rate }
}

/** Wait for `promise`; an abort of `signal` first fails with ABORTED. */
async function untilAborted (promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) { await promise; return }
  const aborted = (): ShoalError => new ShoalError(ErrorCode.ABORTED, 'fetch cancelled; progress is kept')
  if (signal.aborted) throw aborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { reject(aborted()) }
    signal.addEventListener('abort', onAbort, { once: true })
    void promise.then(() => { signal.removeEventListener('abort', onAbort); resolve() })
  })
}
