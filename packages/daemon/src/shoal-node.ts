import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import {
  ErrorCode, ShoalError, chunkCountOf, encodeTicket, parseContentId, MAX_SKIPPED_LISTED, MAX_TICKET_ADDRS, P2P_MULTIADDR_CODE, SHOAL_VERSION
} from '@shoal/protocol'
import type { CancelResult, ChunkLayout, ConnectResult, ListResult, PeerInfo, ShareResult, StatusInfo, UnshareResult, TransferInfo } from '@shoal/protocol'
import { ControlServer } from './control/control-server.js'
import type { ChunkSource } from './storage/chunk-source.js'
import { AMINO_BOOTSTRAP, DEFAULT_LISTEN, MAX_CONCURRENT_UPLOADS, STOP_STEP_MS } from './constants.js'
import { effectiveSettings, readRepoConfig } from './repo/config.js'
import { Discovery } from './net/discovery.js'
import { PeerExchange } from './transfer/upload/peer-exchange.js'
import { UploadSlots } from './transfer/upload/upload-slots.js'
import { Fetcher } from './transfer/download/fetcher.js'
import { createShoalLibp2p } from './net/libp2p-node.js'
import type { ShoalLibp2p } from './net/libp2p-node.js'
import { registerManifestProtocol } from './transfer/upload/manifest-server.js'
import { ShoalMetrics } from './telemetry/metrics.js'
import { Records } from './storage/records.js'
import { defaultRepoDir, openRepo } from './repo/repo.js'
import type { Repo } from './repo/repo.js'
import { ShareRegistry } from './storage/share-registry.js'
import type { CatStream, FetchCallOptions, FetchResult, Shoal, ShareOptions, ShoalOptions } from './shoal-types.js'
import { Traffic } from './telemetry/traffic.js'
import { describeChain } from './errors.js'
import { RelayReservations } from './net/relay-reservations.js'
import { BandwidthLimiter, limitsFrom } from './transfer/rate-limit.js'
import { registerXferProtocol } from './transfer/upload/xfer-server.js'
import { SentTracker } from './transfer/upload/sent-tracker.js'

const log = logger('shoal:daemon')

interface Running {
  repo: Repo
  datastore: LevelDatastore
  records: Records
  node: ShoalLibp2p
  shares: ShareRegistry
  fetcher: Fetcher
  discovery: Discovery
  control?: ControlServer
  metrics?: ShoalMetrics
  startedAt: number
  network: 'lan' | 'public'
  relay: boolean
  /** What dialing each bootstrap address gave. */
  bootstrapped: Array<{ addr: string, peerId?: string, error?: string }>
}

/** The composition root: builds the parts in order, stops them in reverse. */
class ShoalNode implements Shoal {
  private readonly options: ShoalOptions
  private readonly traffic = new Traffic()
  private limiter = new BandwidthLimiter()
  private running?: Running
  private stopping?: Promise<void>
  readonly repo: string

  constructor (options: ShoalOptions) {
    this.options = options
    this.repo = options.repo ?? defaultRepoDir()
  }

  get peerId (): string {
    return this.parts().node.peerId.toString()
  }

  async start (): Promise<void> {
    if (this.running !== undefined) return
    const repo = await openRepo(this.repo)
    let datastore: LevelDatastore | undefined
    let node: ShoalLibp2p | undefined
    let metrics: ShoalMetrics | undefined
    try {
      datastore = new LevelDatastore(repo.datastorePath)
      await datastore.open()
      const records = new Records(datastore)
      const shares = new ShareRegistry(records)
      await shares.load()
      // options (flags) override <repo>/config.json, which overrides defaults
      const settings = effectiveSettings(this.options, await readRepoConfig(repo.dir))
      const network = settings.network ?? 'lan'
      const relay = settings.relay ?? false
      this.limiter = new BandwidthLimiter(limitsFrom(settings))
      const metricsAt = settings.metrics
      if (metricsAt !== undefined) {
        // bound first, so a bad address fails before libp2p starts; values are read when scraped
        metrics = new ShoalMetrics({ traffic: this.traffic, activeTransfers: () => this.running?.fetcher.transfers().length ?? 0, shares: () => this.running?.shares.size ?? 0 }, { listen: metricsAt, statfsLocation: repo.dir })
        await metrics.start()
      }
      node = await createShoalLibp2p({
        privateKey: repo.privateKey,
        ...(metrics !== undefined ? { metrics: metrics.libp2p } : {}),
        listen: listenAddrs(settings.listen ?? DEFAULT_LISTEN, network, relay),
        datastore,
        network,
        mdns: settings.mdns ?? true,
        relay,
        ...(this.options.relayDataLimit !== undefined ? { relayDataLimit: this.options.relayDataLimit } : {}),
        ...(settings.upnp !== undefined ? { upnp: settings.upnp } : {})
      })
      // public mode joins the Amino DHT through its bootstrappers unless told otherwise
      const discovery = new Discovery(node, { bootstrap: settings.bootstrap ?? (network === 'public' ? AMINO_BOOTSTRAP : []) })
      const fetcher = new Fetcher({ node, records, shares, discovery, stats: this.traffic, limiter: this.limiter }, {
        ...(this.options.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.options.stallTimeoutMs } : {}),
        ...(this.options.resolveTimeoutMs !== undefined ? { resolveTimeoutMs: this.options.resolveTimeoutMs } : {})
      })
      // complete shares first, then the verified part of downloads in progress
      const lookup = (cid: string): ChunkSource | undefined => shares.lookup(cid) ?? fetcher.partialSource(cid)
      await registerManifestProtocol(node, lookup)
      await registerXferProtocol(node, { lookup, stats: this.traffic, slots: new UploadSlots(MAX_CONCURRENT_UPLOADS), pex: new PeerExchange(node), sentTracker: new SentTracker(), limiter: this.limiter })
      // behind NAT (public mode, not a relay itself): keep a relay reservation
      if (network === 'public' && !relay) {
        const reservations = new RelayReservations(node)
        reservations.start()
        node.addEventListener('stop', () => { reservations.stop() }, { once: true })
      }
      const onAddressesChanged = this.options.onAddressesChanged
      if (onAddressesChanged !== undefined) {
        let last = ''
        node.addEventListener('self:peer:update', () => {
          const addrs = node?.getMultiaddrs().map(ma => ma.toString()) ?? []
          if (addrs.join(' ') !== last) { last = addrs.join(' '); onAddressesChanged(addrs) }
        })
      }
      const onPeerEvent = this.options.onPeerEvent
      if (onPeerEvent !== undefined) {
        node.addEventListener('peer:connect', e => { onPeerEvent({ type: 'peer:connect', peerId: e.detail.toString() }) })
        node.addEventListener('peer:disconnect', e => { onPeerEvent({ type: 'peer:disconnect', peerId: e.detail.toString() }) })
      }
      await node.start()
      metrics?.libp2pStarted()
      const running: Running = { repo, datastore, records, node, shares, fetcher, discovery, metrics, startedAt: Date.now(), network, relay, bootstrapped: [] }
      this.running = running
      if (this.options.controlSocket !== false) {
        running.control = new ControlServer(this, repo.socketPath, this.options.onStopRequested ?? (() => { void this.stop() }))
        await running.control.start()
      }
      running.bootstrapped = await discovery.start()
      for (const share of shares.list()) if (!share.stale) discovery.announce(parseContentId(share.cid))
      const resumed = await fetcher.resumeAll()
      if (resumed > 0) log('resuming %d download(s)', resumed)
      log('started %p in %s', node.peerId, repo.dir)
    } catch (err) {
      this.running = undefined
      try { await node?.stop() } catch { /* already failing: the original error is what matters */ }
      await metrics?.stop()
      await datastore?.close().catch(() => {})
      await repo.close()
      if (err instanceof ShoalError) throw err
      const text = describeChain(err)
      if (/EADDRINUSE|address already in use/i.test(text)) throw new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot listen: address already in use (${this.options.listen?.join(', ') ?? 'configured listen address'})`, { cause: err })
      if (/multiaddr|invalid address|could not listen|failed to be listened on|NoValidAddresses|listen/i.test(text)) throw new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot listen on ${this.options.listen?.join(', ') ?? 'the configured addresses'}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      throw new ShoalError(ErrorCode.INTERNAL, `cannot start: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }

  async stop (): Promise<void> {
    this.stopping ??= this.doStop()
    await this.stopping
  }

  private async doStop (): Promise<void> {
    const r = this.running
    if (r === undefined) return
    // Each step is bounded (STOP_STEP_MS): a stop ends within STOP_TIMEOUT_MS
    // in any state (peers that stopped reading, a repo deleted under us, a
    // loaded machine). Downloads first, so their progress is saved and running
    // `shoal fetch` clients get their ABORTED event over the socket.
    await bounded(r.fetcher.stop(), STOP_STEP_MS.downloads, 'stopping downloads')
    await bounded(r.control?.stop(), STOP_STEP_MS.control, 'closing the control socket')
    await bounded(r.metrics?.stop(), STOP_STEP_MS.quick, 'stopping metrics')
    r.discovery.stop()
    await bounded(r.node.stop(), STOP_STEP_MS.libp2p, 'stopping libp2p')
    await bounded(r.shares.close(), STOP_STEP_MS.quick, 'closing shared files')
    await bounded(r.datastore.close(), STOP_STEP_MS.quick, 'closing the datastore')
    await bounded(r.repo.close(), STOP_STEP_MS.quick, 'releasing the repo lock')
    this.running = undefined
    log('stopped')
  }

  addrs (): string[] {
    return this.parts().node.getMultiaddrs().map(ma => ma.toString())
  }

  async share (path: string, options: ShareOptions = {}): Promise<ShareResult> {
    const r = this.parts()
    const { record, skipped } = await r.shares.addPath(path, { ...options, ...(this.options.chunkSize !== undefined ? { chunkSize: this.options.chunkSize } : {}) })
    r.discovery.announce(parseContentId(record.cid))
    return {
      cid: record.cid,
      ticket: this.ticketFor(record.cid, record.name),
      name: record.name,
      path: record.path,
      kind: record.kind,
      size: record.size,
      files: record.files,
      chunks: record.chunks,
      skipped: {
        count: skipped.length,
        byReason: { symlink: skipped.filter(e => e.reason === 'symlink').length, special: skipped.filter(e => e.reason === 'special').length, name: skipped.filter(e => e.reason === 'name').length },
        first: skipped.slice(0, MAX_SKIPPED_LISTED)
      }
    }
  }

  async fetch (id: string, options: FetchCallOptions = {}): Promise<FetchResult> {
    return await this.parts().fetcher.fetch(id, options)
  }

  async startFetch (id: string, options: Omit<FetchCallOptions, 'signal'> = {}): Promise<TransferInfo> {
    return await this.parts().fetcher.startDetached(id, options)
  }

  async pause (cid: string): Promise<TransferInfo> {
    return await this.parts().fetcher.pause(cid)
  }

  async cancel (cid: string): Promise<CancelResult> {
    return await this.parts().fetcher.cancel(cid)
  }

  async status (): Promise<StatusInfo> {
    const r = this.parts()
    return {
      peerId: r.node.peerId.toString(),
      addrs: this.addrs(),
      repo: r.repo.dir,
      version: SHOAL_VERSION,
      connections: r.node.getConnections().length,
      peers: r.node.getPeers().length,
      shares: r.shares.size,
      transfers: r.fetcher.transfers(),
      uptimeSeconds: Math.round((Date.now() - r.startedAt) / 1000),
      dhtPeers: r.discovery.routingTableSize,
      network: r.network,
      relay: r.relay,
      uploaded: this.traffic.uploaded,
      downloaded: this.traffic.downloaded,
      ...this.traffic.rates(),
      limits: { ...this.limiter.limits },
      ...(r.metrics?.url !== undefined ? { metrics: r.metrics.url } : {})
    }
  }

  async peers (): Promise<PeerInfo[]> {
    const r = this.parts()
    const byPeer = new Map<string, PeerInfo>()
    for (const conn of r.node.getConnections()) {
      const key = conn.remotePeer.toString()
      const t = { ...this.traffic.of(key), ...this.traffic.rates(key) }
      const existing = byPeer.get(key)
      if (existing === undefined) {
        byPeer.set(key, { peerId: key, addrs: [conn.remoteAddr.toString()], connections: 1, direction: conn.direction, uploaded: t.uploaded, downloaded: t.downloaded, uploadRate: t.uploadRate, downloadRate: t.downloadRate })
      } else {
        existing.connections++
        if (!existing.addrs.includes(conn.remoteAddr.toString())) existing.addrs.push(conn.remoteAddr.toString())
        if (existing.direction !== conn.direction) existing.direction = 'mixed'
      }
    }
    return [...byPeer.values()]
  }

  async connect (addr: string): Promise<ConnectResult> {
    const r = this.parts()
    let ma
    try {
      ma = multiaddr(addr)
    } catch (err) {
      throw new ShoalError(ErrorCode.INVALID_ADDRESS, `not a multiaddr: ${JSON.stringify(addr.slice(0, 200))}`, { cause: err })
    }
    try {
      const conn = await r.node.dial(ma, { signal: AbortSignal.timeout(15_000) })
      return { peerId: conn.remotePeer.toString() }
    } catch (err) {
      throw new ShoalError(ErrorCode.DIAL_FAILED, `cannot connect to ${addr}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }

  async list (): Promise<ListResult> {
    const r = this.parts()
    return { shares: r.shares.list(), downloads: await r.fetcher.downloads() }
  }

  async unshare (cid: string): Promise<UnshareResult> {
    const r = this.parts()
    const parsed = parseContentId(cid).toString()
    await r.shares.remove(parsed)
    await r.discovery.withdraw(parseContentId(parsed))
    return { cid: parsed, removed: true }
  }

  cat (cid: string, path?: string): CatStream {
    const r = this.parts()
    const id = parseContentId(cid).toString()
    const source = r.shares.lookup(id)
    if (source === undefined) {
      if (r.shares.get(id)?.stale === true) throw new ShoalError(ErrorCode.NOT_FOUND, `share ${id} is stale: its files changed on disk since they were shared; share them again`)
      if (r.fetcher.partialSource(id) !== undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `${id} is still downloading; cat it once the fetch is done`)
      throw new ShoalError(ErrorCode.NOT_FOUND, `${id} is not shared or fetched by this node (shoal ls lists what it holds)`)
    }
    const { fileIndex, first, count } = fileOf(source.layout, id, path)
    const file = source.layout.manifest.files[fileIndex] as { path: string, size: number }
    const stillShared = (): boolean => r.shares.lookup(id) === source
    return {
      path: file.path,
      size: file.size,
      async * [Symbol.asyncIterator] () {
        for (let index = first; index < first + count; index++) {
          if (!stillShared()) throw new ShoalError(ErrorCode.NOT_FOUND, `${id} stopped being shared while it was read`)
          yield await source.readChunk(index) // verified against its hash
        }
      }
    }
  }

  private ticketFor (cid: string, name: string): string {
    const r = this.parts()
    const all = r.node.getMultiaddrs().map(ma => ma.decapsulateCode(P2P_MULTIADDR_CODE).toString()) // drop /p2p/<id>: the ticket carries it
    // direct addresses first, but keep one relay address for peers that cannot dial us
    const relayed = all.filter(a => a.includes('/p2p-circuit'))
    const direct = all.filter(a => !a.includes('/p2p-circuit'))
    const addrs = [...direct.slice(0, MAX_TICKET_ADDRS - Math.min(1, relayed.length)), ...relayed].slice(0, MAX_TICKET_ADDRS)
    return encodeTicket({ cid: parseContentId(cid), peerId: r.node.peerId.toString(), addrs, name })
  }

  private parts (): Running {
    if (this.running === undefined) throw new ShoalError(ErrorCode.NOT_STARTED, 'the Shoal node is not running')
    return this.running
  }
}

/** The file `path` names in a share, and its chunk range; INVALID_PATH when there is none. */
function fileOf (layout: ChunkLayout, cid: string, path: string | undefined): { fileIndex: number, first: number, count: number } {
  const { kind, files, dirs, chunkSize } = layout.manifest
  const given = path ?? ''
  let fileIndex: number
  if (kind === 'file') {
    if (given !== '') throw new ShoalError(ErrorCode.INVALID_PATH, `${cid} is a single file, not a directory: omit the path`)
    fileIndex = 0
  } else {
    const rel = given.replace(/^(\.\/)+/, '').replace(/\/+$/, '')
    if (rel === '') throw new ShoalError(ErrorCode.INVALID_PATH, `${cid} is a directory of ${files.length} file(s): name the file to print${files[0] !== undefined ? `, e.g. ${files[0].path}` : ''}`)
    fileIndex = files.findIndex(f => f.path === rel)
    if (fileIndex < 0) {
      const isDir = dirs.includes(rel) || files.some(f => f.path.startsWith(rel + '/'))
      throw new ShoalError(ErrorCode.INVALID_PATH, isDir ? `"${rel}" is a directory in ${cid}: name a file in it` : `no file "${rel.slice(0, 200)}" in ${cid}`)
    }
  }
  let first = 0
  for (let i = 0; i < fileIndex; i++) first += chunkCountOf(files[i]?.size ?? 0, chunkSize)
  return { fileIndex, first, count: chunkCountOf(files[fileIndex]?.size ?? 0, chunkSize) }
}

/**
 * Create a Shoal node (not started).
 *
 * @example
 * ```ts
 * const shoal = await createShoal({ repo: '/tmp/shoal-a', listen: ['/ip4/127.0.0.1/tcp/0'] })
 * await shoal.start()
 * const { cid, ticket } = await shoal.share('./photos')
 * ```
 */
export async function createShoal (options: ShoalOptions = {}): Promise<Shoal> {
  return new ShoalNode(options)
}

/** Wait for `step` at most `ms`; a step that fails or takes longer is logged, and stopping goes on. */
async function bounded (step: Promise<unknown> | void | undefined, ms: number, what: string): Promise<void> {
  if (!(step instanceof Promise)) return
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>(resolve => { timer = setTimeout(() => { resolve('late') }, ms) })
  try {
    if (await Promise.race([step, late]) === 'late') log.error('%s took more than %d ms; going on', what, ms)
  } catch (err) {
    log.error('%s: %e', what, err)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Public mode also listens through relays (`/p2p-circuit`): behind a NAT,
 * the node takes a reservation on a relay it is connected to and can be
 * dialed there.
 */
function listenAddrs (listen: string[], network: 'lan' | 'public', relay: boolean): string[] {
  // a relay is meant to be reachable itself: it takes no reservations elsewhere
  return network === 'public' && !relay && !listen.includes('/p2p-circuit') ? [...listen, '/p2p-circuit'] : listen
}
