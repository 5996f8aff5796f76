import fs from 'node:fs/promises'
import path from 'node:path'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  Bitfield, ChunkLayout, ErrorCode, ShoalError, decodeManifest, decodeTicket, isTicket, isShoalError, manifestMatches, parseContentId, toShoalError, P2P_MULTIADDR_CODE
} from '@shoal/protocol'
import type { CID, FetchEvent, TransferInfo } from '@shoal/protocol'
import type { PeerId } from '@libp2p/interface'
import { PROGRESS_INTERVAL_MS, PROVIDER_SEARCH_MAX_MS, PROVIDER_SEARCH_MIN_MS, RESOLVE_TIMEOUT_MS, RETRY_EMPTY_PEER_MS } from '../../constants.js'
import type { ChunkSource } from '../../storage/chunk-source.js'
import type { Discovery } from '../../net/discovery.js'
import { PartialSource } from '../../storage/partial-source.js'
import { Download } from './download.js'
import type { DownloadResult } from './download.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import { requestManifest } from './manifest-client.js'
import type { FetchedManifest } from './manifest-client.js'
import { PartFiles, exists } from '../../storage/part-files.js'
import type { DownloadRecord, FileStamp, ProviderHint, Records } from '../../storage/records.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import { PeerSession } from './peer-session.js'
import { RelayBudgets } from '../../net/relay-budget.js'
import type { BandwidthLimiter } from '../rate-limit.js'

const log = logger('shoal:fetch')

export interface FetchOptions {
  /** Absolute output path. A trailing `/` means "save into this directory". @default the current directory */
  out?: string
  /** Replace an existing output. @default false */
  force?: boolean
  /** Cancels the fetch; progress so far is kept. */
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

interface ActiveFetch {
  download: Download
  source: PartialSource
  /** peer → when we last tried to open a session with it */
  tried: Map<string, number>
  listeners: Set<(e: FetchEvent) => void>
  done: Promise<DownloadResult>
}

/** Resolves an id or ticket to providers, fetches the manifest, runs the download. */
export class Fetcher {
  private readonly c: FetcherComponents
  private readonly init: FetcherInit
  private readonly active = new Map<string, ActiveFetch>()
  /** Downloads being set up (manifest, part files, re-hashing on resume), not yet in `active`. */
  private readonly starting = new Map<string, Promise<void>>()
  private readonly banned = new Set<string>()
  private readonly budgets = new RelayBudgets()
  private stopping = false

  constructor (components: FetcherComponents, init: FetcherInit = {}) {
    this.c = components
    this.init = init
    // hole punching (DCUtR) or a direct dial succeeded: move sessions off the relay
    components.node.addEventListener('connection:open', (evt) => {
      const conn = evt.detail
      if (conn.limits !== undefined || this.stopping) return
      for (const entry of this.active.values()) {
        if (entry.download.dropRelayedSessionsWith(conn.remotePeer)) {
          entry.tried.delete(conn.remotePeer.toString())
          void this.openSessions(entry.download, parseContentId(entry.download.record.cid), [conn.remotePeer], entry.tried)
        }
      }
    })
  }

  transfers (): TransferInfo[] {
    return [...this.active.values()].map(a => a.download.info())
  }

  /** The verified part of a download in progress, for serving to others. */
  partialSource (cid: string): ChunkSource | undefined {
    return this.active.get(cid)?.source
  }

  async fetch (id: string, options: FetchOptions = {}): Promise<DownloadResult> {
    const { cid, hints, name } = parseId(id)
    return await this.begin(cid, hints, name, options)
  }

  /**
   * Resume every download that was running when the daemon last stopped or
   * was killed (as a torrent client does). Failures are recorded, not thrown.
   */
  async resumeAll (): Promise<number> {
    const pending = (await this.c.records.listDownloads()).filter(d => d.state === 'active')
    for (const d of pending) {
      log('resuming %s into %s', d.cid, d.out)
      this.begin(parseContentId(d.cid), d.providers, d.name, { out: d.out, force: d.force }).catch(err => {
        log.error('resuming %s failed: %e', d.cid, err)
      })
    }
    return pending.length
  }

  private async begin (cid: CID, hints: ProviderHint[], ticketName: string | undefined, options: FetchOptions): Promise<DownloadResult> {
    const emit = options.onProgress ?? (() => {})
    const cidText = cid.toString()

    const running = this.active.get(cidText)
    if (running !== undefined) return await this.attach(running, options)
    // the same id being set up (a resume at start-up re-hashes what it holds): wait, then attach
    const starting = this.starting.get(cidText)
    if (starting !== undefined) {
      await untilAborted(starting, options.signal)
      return await this.begin(cid, hints, ticketName, options)
    }
    if (this.stopping) throw new ShoalError(ErrorCode.NOT_STARTED, 'the daemon is stopping')
    // reject a bad output path before any network work
    if (options.out !== undefined && options.out !== '' && !path.isAbsolute(options.out)) {
      throw new ShoalError(ErrorCode.INVALID_PATH, `output path must be absolute: ${options.out}`)
    }
    let setUp = (): void => {}
    const started = new Promise<void>(resolve => { setUp = resolve })
    const settled = (): void => { if (this.starting.get(cidText) === started) this.starting.delete(cidText); setUp() }
    this.starting.set(cidText, started)
    try {
      return await this.beginChecked(cid, cidText, hints, ticketName, options, emit, settled)
    } catch (err) {
      if (options.signal?.aborted === true && !(err instanceof ShoalError)) {
        throw new ShoalError(ErrorCode.ABORTED, 'fetch cancelled; progress is kept', { cause: err })
      }
      throw err
    } finally {
      settled()
    }
  }

  /** `active` is called once the download is in `active` (others asking for the id attach to it from then on). */
  private async beginChecked (cid: CID, cidText: string, hints: ProviderHint[], ticketName: string | undefined, options: FetchOptions, emit: (e: FetchEvent) => void, active: () => void): Promise<DownloadResult> {

    const self = this.c.node.peerId
    const hinted: PeerId[] = []
    for (const hint of hints) {
      const peer = peerIdFromString(hint.peerId)
      if (peer.equals(self)) continue
      const addrs = hint.addrs.flatMap(a => { try { return [multiaddr(a)] } catch { return [] } })
      if (addrs.length > 0) await this.c.node.peerStore.merge(peer, { multiaddrs: addrs })
      hinted.push(peer)
    }
    // an interrupted download of this id: its manifest is already here and verified
    const previous = await this.c.records.getDownload(cidText)
    const known = previous !== undefined ? await this.storedManifest(cid, previous.name) : undefined
    let fetched: FetchedManifest
    let providers: PeerId[]
    if (known !== undefined && previous !== undefined && (options.out === undefined || (await resolveOut(options.out, previous.name)) === previous.out)) {
      emit({ type: 'resolving', cid: cidText, providers: hinted.length })
      fetched = known
      providers = [...hinted, ...previous.providers.flatMap(h => { try { return [peerIdFromString(h.peerId)] } catch { return [] } })]
      options = { ...options, out: previous.out }
    } else {
      ({ fetched, providers } = await this.resolve(cid, hinted, emit, options.resolveTimeoutMs ?? this.init.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS, options.signal))
    }
    const name = safeName(ticketName ?? fetched.name, cidText)
    const out = await resolveOut(options.out, name)
    const layout = new ChunkLayout(fetched.manifest)

    const partPath = `${out}.part`
    const resume = previous !== undefined && previous.partPath === partPath && await exists(partPath)
    if (options.force !== true) {
      if (await exists(out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${out} already exists; choose another path with -o or replace it with --force`)
      if (!resume && await exists(partPath)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${partPath} already exists and is not a download this daemon knows; remove it or use --force`)
    }

    const record: DownloadRecord = {
      cid: cidText,
      name,
      kind: fetched.manifest.kind,
      out,
      partPath,
      force: options.force === true,
      state: 'active',
      startedAt: new Date().toISOString(),
      providers: mergeHints(previous?.providers ?? [], hints)
    }
    await this.c.records.putManifest(cidText, fetched.bytes)
    await this.c.records.putDownload(record)

    const part = new PartFiles(partPath, layout)
    await part.prepare(resume)
    let have: Bitfield | undefined
    if (resume) {
      const bits = await this.c.records.getBitfield(cidText)
      if (bits !== undefined && bits.byteLength === Math.ceil(layout.chunkCount / 8)) have = new Bitfield(layout.chunkCount, bits)
    }
    const download = new Download({
      record,
      layout,
      part,
      records: this.c.records,
      ...(have !== undefined ? { have } : {}),
      ...(this.init.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.init.stallTimeoutMs } : {}),
      noProviderTimeoutMs: options.resolveTimeoutMs ?? this.init.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS,
      onDownloaded: (peer, bytes) => { this.c.stats.onChunkVerified(); this.c.stats.onDownloaded(peer, bytes) },
      onBadPeer: (peer) => { this.c.stats.onChunkRejected(); this.banned.add(peer.toString()) },
      onPeers: (addrs) => { void this.suggested(download, cid, addrs) },
      onChunk: (index) => {
        source.gained(index)
        // a downloader is a provider as soon as it holds a verified chunk
        this.c.discovery.announce(cid)
      }
    })
    const source = new PartialSource({
      cid: cidText,
      name,
      layout,
      manifestBytes: fetched.bytes,
      have: download.have,
      part,
      finished: () => this.c.shares.lookup(cidText)
    })
    if (have !== undefined) await download.verifyHeld()
    const listeners = new Set<(e: FetchEvent) => void>([emit])
    const tried = new Map<string, number>()
    // stopped while setting up: keep the record 'active' (it resumes at the next start)
    if (this.stopping) {
      await part.close()
      throw new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume')
    }
    const done = this.run(download, source, fetched, providers, tried, options.signal)
    const entry: ActiveFetch = { download, source, tried, listeners, done }
    this.active.set(cidText, entry)
    active()

    const broadcast = (e: FetchEvent): void => { for (const l of listeners) l(e) }
    broadcast({ type: 'manifest', cid: cidText, name, kind: fetched.manifest.kind, size: layout.totalSize, files: fetched.manifest.files.length, chunks: layout.chunkCount, path: out })
    const progressTimer = setInterval(() => { broadcast(progressEvent(download)) }, PROGRESS_INTERVAL_MS)
    try {
      const result = await done
      broadcast(progressEvent(download))
      broadcast({ type: 'done', done: true, cid: cidText, path: result.path, size: result.size, seconds: result.seconds })
      return result
    } catch (err) {
      const error = toShoalError(err)
      // stopped with the daemon: stays 'active' and resumes at the next start
      if (!this.stopping) await this.c.records.putDownload({ ...record, state: 'failed', error: error.toJSON() }).catch(e => { log.error('cannot record that %s failed: %e', cidText, e) })
      throw error
    } finally {
      clearInterval(progressTimer)
      this.active.delete(cidText)
    }
  }

  /** Stop every download, keeping progress. */
  async stop (): Promise<void> {
    this.stopping = true
    const stopping = new ShoalError(ErrorCode.ABORTED, 'the daemon is stopping; fetch again to resume')
    await Promise.allSettled([...this.active.values()].map(async a => { await a.download.abort(stopping) }))
  }

  /** The stored manifest of an interrupted download, checked against its id again. */
  private async storedManifest (cid: CID, name: string): Promise<FetchedManifest | undefined> {
    const bytes = await this.c.records.getManifest(cid.toString())
    if (bytes === undefined || !(await manifestMatches(cid, bytes))) return undefined
    try {
      return { manifest: decodeManifest(bytes), bytes, name }
    } catch {
      return undefined
    }
  }

  private async attach (running: ActiveFetch, options: FetchOptions): Promise<DownloadResult> {
    const listener = options.onProgress
    if (listener !== undefined) running.listeners.add(listener)
    try {
      return await running.done
    } finally {
      if (listener !== undefined) running.listeners.delete(listener)
    }
  }

  private async run (download: Download, source: PartialSource, fetched: FetchedManifest, providers: PeerId[], tried: Map<string, number>, signal?: AbortSignal): Promise<DownloadResult> {
    const onAbort = (): void => { void download.abort(new ShoalError(ErrorCode.ABORTED, 'fetch cancelled; progress is kept')) }
    signal?.addEventListener('abort', onAbort, { once: true })
    const searching = new AbortController()
    try {
      download.start()
      if (!download.isFinished) {
        const cid = parseContentId(download.record.cid)
        // sessions open in the background: a slow provider never holds up the others
        void this.openSessions(download, cid, providers, tried, signal)
        void this.searchWhileDownloading(download, cid, providers, tried, searching.signal)
      }
      const result = await download.result
      const stamps = await stampsOf(result.path, fetched)
      await this.c.shares.addFetched(download.record.cid, download.record.name, result.path, fetched.bytes, stamps)
      source.markComplete()
      this.c.discovery.announce(parseContentId(download.record.cid))
      await this.c.records.deleteDownload(download.record.cid)
      return result
    } finally {
      searching.abort()
      signal?.removeEventListener('abort', onAbort)
      await source.close()
    }
  }

  /** Peer exchange: dial the peers another peer says fetch the same root. */
  private async suggested (download: Download, cid: CID, addrs: string[]): Promise<void> {
    const peers: PeerId[] = []
    for (const text of addrs) {
      try {
        const ma = multiaddr(text)
        const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
        if (id === undefined) continue
        const peer = peerIdFromString(id)
        if (peer.equals(this.c.node.peerId)) continue
        await this.c.node.peerStore.merge(peer, { multiaddrs: [ma.decapsulateCode(P2P_MULTIADDR_CODE)] })
        if (!peers.some(p => p.equals(peer))) peers.push(peer)
      } catch (err) {
        log('ignoring suggested peer %s: %e', text.slice(0, 200), err)
      }
    }
    const entry = this.active.get(download.record.cid)
    if (entry !== undefined && peers.length > 0) await this.openSessions(download, cid, peers, entry.tried)
  }

  /** Open xfer sessions to `peers` (skipping banned, ourselves, peers already in the download). */
  private async openSessions (download: Download, cid: CID, peers: PeerId[], tried: Map<string, number>, signal?: AbortSignal): Promise<void> {
    const now = Date.now()
    const fresh = peers.filter(p => {
      const key = p.toString()
      if (this.banned.has(key) || p.equals(this.c.node.peerId) || download.hasSessionWith(p)) return false
      const last = tried.get(key)
      return last === undefined || now - last > RETRY_EMPTY_PEER_MS
    })
    await Promise.allSettled(fresh.map(async peer => {
      tried.set(peer.toString(), Date.now())
      try {
        const limiter = this.c.limiter
        const pace = limiter?.limitsDownload === true ? (p: PeerId, bytes: number) => limiter.download(p, bytes) : undefined
        const session = await PeerSession.open(this.c.node, peer, cid, download.layout, download, this.budgets, signal, pace)
        if (session !== undefined) {
          // a relayed connection used up: go again at once (a new circuit, or a direct connection)
          session.onRetired = () => {
            tried.delete(peer.toString())
            void this.openSessions(download, cid, [peer], tried, signal)
          }
          // lost (a relay cut the circuit, the connection dropped): dial that
          // peer again soon, without waiting for the next provider search
          // (a banned peer is skipped by openSessions)
          session.onFailed = () => {
            if (download.isFinished || signal?.aborted === true) return
            setTimeout(() => { if (!download.isFinished) void this.openSessions(download, cid, [peer], tried, signal) }, RETRY_EMPTY_PEER_MS).unref()
          }
        }
        if (session !== undefined) download.addSession(session)
      } catch (err) {
        log('no session with %p: %e', peer, err)
      }
    }))
  }

  /**
   * Keep looking for providers while downloading (the first providers again,
   * connected peers, DHT), quickly at first, then every PROVIDER_SEARCH_MAX_MS:
   * new sources join, and a first provider whose connection went away (a
   * relay cut it, it restarted) is dialed again.
   */
  private async searchWhileDownloading (download: Download, cid: CID, first: PeerId[], tried: Map<string, number>, signal: AbortSignal): Promise<void> {
    let delay = PROVIDER_SEARCH_MIN_MS
    while (!signal.aborted && !download.isFinished) {
      await waitFor(delay, signal)
      if (signal.aborted || download.isFinished) return
      // connected peers first (cheap), then each DHT provider as it is found
      const opening = [this.openSessions(download, cid, [...first, ...this.c.node.getPeers()], tried, signal)]
      for await (const peer of this.c.discovery.findProviders(cid, signal)) {
        opening.push(this.openSessions(download, cid, [peer], tried, signal))
      }
      await Promise.all(opening)
      delay = Math.min(PROVIDER_SEARCH_MAX_MS, delay * 2)
    }
  }

  /**
   * Find the manifest: ask ticket hints and connected peers, then DHT
   * providers, until one sends a manifest that hashes to the id.
   */
  private async resolve (cid: CID, hinted: PeerId[], emit: (e: FetchEvent) => void, timeoutMs: number, signal?: AbortSignal): Promise<{ fetched: FetchedManifest, providers: PeerId[] }> {
    const deadline = Date.now() + timeoutMs
    const asked = new Set<string>()
    const errors: string[] = []
    const usable = (peers: PeerId[]): PeerId[] => peers.filter(p => !this.banned.has(p.toString()) && !p.equals(this.c.node.peerId) && !asked.has(p.toString()))
    const first = usable([...hinted, ...this.c.node.getPeers()].filter((p, i, all) => all.findIndex(q => q.equals(p)) === i))
    emit({ type: 'resolving', cid: cid.toString(), providers: first.length })
    let round = first
    let delay = PROVIDER_SEARCH_MIN_MS
    while (true) {
      signal?.throwIfAborted()
      for (const p of round) asked.add(p.toString())
      const got = await this.findManifest(cid, round, errors, signal)
      if (got !== undefined) return got
      if (Date.now() >= deadline) {
        const why = errors.length > 0 ? `; last error: ${errors[errors.length - 1]}` : ''
        throw new ShoalError(ErrorCode.NO_PROVIDERS, `no providers found for ${cid.toString()} after ${Math.round(timeoutMs / 1000)} s (asked ${asked.size} peer(s))${why}`)
      }
      await waitFor(Math.min(delay, Math.max(0, deadline - Date.now())), signal)
      delay = Math.min(PROVIDER_SEARCH_MAX_MS, delay * 2)
      // ticket hints again too: a first dial can fail for passing reasons (a relay reconnecting)
      const found: PeerId[] = [...hinted, ...this.c.node.getPeers()]
      for await (const peer of this.c.discovery.findProviders(cid, signal)) found.push(peer)
      // peers that had nothing may have it by now
      const unique = found.filter((p, i) => found.findIndex(q => q.equals(p)) === i)
      if (unique.length > 0 && usable(unique).length === 0) asked.clear()
      round = usable(unique)
    }
  }

  private async findManifest (cid: CID, candidates: PeerId[], errors: string[], signal?: AbortSignal): Promise<{ fetched: FetchedManifest, providers: PeerId[] } | undefined> {
    const answers = await Promise.allSettled(candidates.map(async peer => ({ peer, got: await requestManifest(this.c.node, peer, cid, signal) })))
    let fetched: FetchedManifest | undefined
    const providers: PeerId[] = []
    for (const a of answers) {
      if (a.status === 'rejected') {
        errors.push((a.reason as Error)?.message ?? String(a.reason))
        if (isShoalError(a.reason, ErrorCode.HASH_MISMATCH) || isShoalError(a.reason, ErrorCode.INVALID_MANIFEST)) {
          const liar = candidates[answers.indexOf(a)]
          log.error('peer %p sent a bad manifest for %s, banning it: %e', liar, cid, a.reason)
          if (liar !== undefined) this.banned.add(liar.toString())
        }
        continue
      }
      if (a.value.got === undefined) continue
      fetched ??= a.value.got
      providers.push(a.value.peer)
    }
    return fetched === undefined ? undefined : { fetched, providers }
  }
}

/** Resolve after `ms`, or at once when `signal` aborts. */
async function waitFor (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}

function parseId (id: unknown): { cid: CID, hints: ProviderHint[], name?: string } {
  if (typeof id !== 'string' || id.trim() === '') throw new ShoalError(ErrorCode.INVALID_ID, 'missing content id or ticket')
  if (isTicket(id)) {
    const t = decodeTicket(id)
    return { cid: t.cid, hints: [{ peerId: t.peerId, addrs: t.addrs }], ...(t.name !== undefined ? { name: t.name } : {}) }
  }
  return { cid: parseContentId(id), hints: [] }
}

function mergeHints (a: ProviderHint[], b: ProviderHint[]): ProviderHint[] {
  const out = new Map<string, ProviderHint>()
  for (const h of [...a, ...b]) out.set(h.peerId, h)
  return [...out.values()]
}

/** A name from a peer is only a suggestion: one safe path segment, else the cid. */
function safeName (name: string, cid: string): string {
  const trimmed = name.trim()
  if (trimmed === '' || trimmed === '.' || trimmed === '..' || /[/\\\0]/.test(trimmed) || trimmed.length > 255) return cid
  return trimmed
}

async function resolveOut (out: string | undefined, name: string): Promise<string> {
  if (out === undefined || out === '') return path.resolve(process.cwd(), name)
  if (!path.isAbsolute(out)) throw new ShoalError(ErrorCode.INVALID_PATH, `output path must be absolute: ${out}`)
  // a trailing slash means "save into this directory"; anything else is the exact path
  if (out.endsWith('/') || out.endsWith(path.sep)) return path.join(out, name)
  return path.resolve(out)
}

async function stampsOf (root: string, fetched: FetchedManifest): Promise<FileStamp[]> {
  const stamps: FileStamp[] = []
  for (const file of fetched.manifest.files) {
    const p = fetched.manifest.kind === 'file' ? root : path.join(root, ...file.path.split('/'))
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
