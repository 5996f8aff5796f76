import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Logger } from '@libp2p/interface'
import { LevelDatastore } from 'datastore-level'
import { ErrorCode, ShoalError, isIpfsId, parseContentId, parseIpfsCid, parseRate } from '@shoal/protocol'
import path from 'node:path'
import type { CancelResult, ChunkMap, ConnectResult, FilesResult, ListResult, PeerInfo, ShareResult, StatusInfo, TransferInfo, UiAccess, UnshareResult } from '@shoal/protocol'
import { AMINO_BOOTSTRAP, DEFAULT_LISTEN, MAX_CONCURRENT_UPLOADS, PARTIAL_DIR, READ_WAIT_MS, STOP_STEP_MS } from './constants.js'
import { startError } from './errors.js'
import type { CatOptions, CatStream, FetchCallOptions, FetchResult, FilesOptions, Shoal, ShareOptions, ShoalOptions } from './shoal-types.js'
import { effectiveSettings, readRepoConfig } from './repo/config.js'
import { defaultRepoDir, openRepo } from './repo/repo.js'
import { loadOrCreateUiToken } from './repo/ui-token.js'
import type { Repo } from './repo/repo.js'
import type { ChunkSource } from './storage/chunk-source.js'
import { Records } from './storage/records.js'
import { ShareRegistry } from './storage/share-registry.js'
import { Discovery } from './net/discovery.js'
import { createShoalLibp2p, listenAddrs } from './net/libp2p-node.js'
import type { ShoalLibp2p } from './net/libp2p-node.js'
import { RelayReservations } from './net/relay-reservations.js'
import { ticketFor } from './net/tickets.js'
import { BandwidthLimiter, limitsFrom } from './transfer/rate-limit.js'
import { Fetcher } from './transfer/download/fetcher.js'
import { LiveChunkMaps, restingChunkMap } from './transfer/download/chunk-map.js'
import { registerManifestProtocol } from './transfer/upload/manifest-server.js'
import { PeerExchange } from './transfer/upload/peer-exchange.js'
import { SentTracker } from './transfer/upload/sent-tracker.js'
import { Slots } from './slots.js'
import { registerXferProtocol } from './transfer/upload/xfer-server.js'
import { ControlServer } from './control/control-server.js'
import { createGateway } from './http/gateway.js'
import type { HttpServer } from './http/http-server.js'
import { IpfsService } from './ipfs/ipfs-service.js'
import type { TrustlessGatewayHandler } from './ipfs/trustless-gateway.js'
import { uiCookieName } from './http/ui/ui-auth.js'
import { ShoalMetrics } from './telemetry/metrics.js'
import { nodeStatus, peerList } from './telemetry/node-status.js'
import { Traffic } from './telemetry/traffic.js'
import { nodeLogger } from './telemetry/node-logger.js'

interface Running {
  repo: Repo
  datastore: LevelDatastore
  records: Records
  node: ShoalLibp2p
  shares: ShareRegistry
  fetcher: Fetcher
  discovery: Discovery
  ipfs: IpfsService
  /** The IPFS trustless gateway's handler, for the HTTP gateway. */
  trustless: TrustlessGatewayHandler
  control?: ControlServer
  metrics?: ShoalMetrics
  gateway?: HttpServer
  /** The web UI's token (with the gateway). */
  uiToken?: string
  startedAt: number
  network: 'lan' | 'public'
  relay: boolean
  /** What dialing each bootstrap address gave. */
  bootstrapped: Array<{ addr: string, peerId?: string, error?: string }>
}

/**
 * The composition root: `start` opens the repo and builds the parts in a
 * fixed order — storage (datastore, records, shares), the libp2p host and
 * discovery, the download side (Fetcher), the upload side (manifest and xfer
 * protocols), the control socket — and `stop` stops them in reverse, each
 * step bounded. Every {@link Shoal} operation is one call into a part.
 */
class ShoalNode implements Shoal {
  private readonly options: ShoalOptions
  private readonly traffic = new Traffic()
  private limiter = new BandwidthLimiter()
  /** Running downloads' chunk maps (the web UI). */
  private readonly chunkMaps = new LiveChunkMaps()
  private running?: Running
  private stopping?: Promise<void>
  private log: Logger = nodeLogger('').forComponent('shoal:daemon')
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
    // every part logs as `shoal:<component>:<node>`, so two nodes in one process can be told apart
    const logger = nodeLogger(peerIdFromPrivateKey(repo.privateKey).toString())
    this.log = logger.forComponent('shoal:daemon')
    let datastore: LevelDatastore | undefined
    let node: ShoalLibp2p | undefined
    let metrics: ShoalMetrics | undefined
    let gateway: HttpServer | undefined
    let uiToken: string | undefined
    try {
      datastore = new LevelDatastore(repo.datastorePath)
      await datastore.open()
      const records = new Records(datastore, logger)
      const shares = new ShareRegistry(records, logger)
      await shares.load()
      // options (flags) override <repo>/config.json, which overrides defaults
      const settings = effectiveSettings(this.options, await readRepoConfig(repo.dir))
      const network = settings.network ?? 'lan'
      const relay = settings.relay ?? false
      this.limiter = new BandwidthLimiter(limitsFrom(settings))
      const metricsAt = settings.metrics
      if (metricsAt !== undefined) {
        // bound first, so a bad address fails before libp2p starts; values are read when scraped
        metrics = new ShoalMetrics({ logger, traffic: this.traffic, activeTransfers: () => this.running?.fetcher.transfers().length ?? 0, shares: () => this.running?.shares.size ?? 0 }, { listen: metricsAt, statfsLocation: repo.dir })
        await metrics.start()
      }
      if (settings.gateway !== undefined) {
        // bound before libp2p too; it answers 503 until the node runs
        // with the web UI, whose API is the control API (made below)
        uiToken = await loadOrCreateUiToken(repo.dir)
        gateway = createGateway(this, settings.gateway, logger, { ipfs: () => this.running?.trustless, ui: { token: uiToken, cookieName: uiCookieName(peerIdFromPrivateKey(repo.privateKey).toString()), control: () => { const c = this.running?.control; return c === undefined ? undefined : async (req, res) => { await c.handle(req, res) } } } })
        await gateway.start()
      }
      node = await createShoalLibp2p({
        privateKey: repo.privateKey,
        logger,
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
      const fetcher = new Fetcher({ node, records, shares, discovery, stats: this.traffic, limiter: this.limiter, chunkMaps: this.chunkMaps }, {
        partialDir: path.join(repo.dir, PARTIAL_DIR),
        ...(settings.maxCache !== undefined ? { cacheBytes: sizeSetting('maxCache', settings.maxCache) } : {}),
        ...(this.options.cacheGraceMs !== undefined ? { cacheGraceMs: this.options.cacheGraceMs } : {}),
        ...(this.options.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.options.stallTimeoutMs } : {}),
        ...(this.options.resolveTimeoutMs !== undefined ? { resolveTimeoutMs: this.options.resolveTimeoutMs } : {})
      })
      // complete shares first, then the verified part of downloads in progress
      const lookup = (cid: string): ChunkSource | undefined => shares.lookup(cid) ?? fetcher.partialSource(cid)
      await registerManifestProtocol(node, lookup)
      await registerXferProtocol(node, { logger, lookup, stats: this.traffic, slots: new Slots(MAX_CONCURRENT_UPLOADS), pex: new PeerExchange(node), sentTracker: new SentTracker(), limiter: this.limiter })
      // IPFS: every share's UnixFS DAG, served over Bitswap
      const ipfs = new IpfsService({
        node, datastore, records, shares, logger, stats: this.traffic, limiter: this.limiter,
        announce: cid => { discovery.announce(cid) },
        withdraw: async cid => { await discovery.withdraw(cid) },
        findProviders: (cid, signal) => discovery.findProviders(cid, signal),
        ...(this.options.stallTimeoutMs !== undefined ? { stallTimeoutMs: this.options.stallTimeoutMs } : {}),
        ...(this.options.resolveTimeoutMs !== undefined ? { resolveTimeoutMs: this.options.resolveTimeoutMs } : {})
      })
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
      await ipfs.start()
      const running: Running = { repo, datastore, records, node, shares, fetcher, discovery, ipfs, trustless: ipfs.gateway(), metrics, gateway, uiToken, startedAt: Date.now(), network, relay, bootstrapped: [] }
      // made without the socket too: the web UI's API is the control API
      running.control = new ControlServer(this, repo.socketPath, this.options.onStopRequested ?? (() => { void this.stop() }), logger)
      this.running = running
      if (this.options.controlSocket !== false) await running.control.start()
      running.bootstrapped = await discovery.start()
      for (const share of shares.list()) if (!share.stale) discovery.announce(parseContentId(share.cid))
      ipfs.announceAll()
      const resumed = await fetcher.resumeAll() + await ipfs.fetcher.resumeAll()
      if (resumed > 0) this.log('resuming %d download(s)', resumed)
      this.log('started %p in %s', node.peerId, repo.dir)
    } catch (err) {
      this.running = undefined
      try { await node?.stop() } catch { /* already failing: the original error is what matters */ }
      await metrics?.stop()
      await gateway?.stop()
      await datastore?.close().catch(() => {})
      await repo.close()
      throw startError(err, this.options.listen)
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
    await bounded(this.log, Promise.all([r.fetcher.stop(), r.ipfs.fetcher.stop()]), STOP_STEP_MS.downloads, 'stopping downloads')
    await bounded(this.log, r.control?.stop(), STOP_STEP_MS.control, 'closing the control socket')
    await bounded(this.log, r.metrics?.stop(), STOP_STEP_MS.quick, 'stopping metrics')
    await bounded(this.log, r.gateway?.stop(), STOP_STEP_MS.quick, 'stopping the gateway')
    r.discovery.stop()
    await bounded(this.log, r.ipfs.stop(), STOP_STEP_MS.quick, 'stopping bitswap')
    await bounded(this.log, r.node.stop(), STOP_STEP_MS.libp2p, 'stopping libp2p')
    await bounded(this.log, r.shares.close(), STOP_STEP_MS.quick, 'closing shared files')
    await bounded(this.log, r.datastore.close(), STOP_STEP_MS.quick, 'closing the datastore')
    await bounded(this.log, r.repo.close(), STOP_STEP_MS.quick, 'releasing the repo lock')
    this.running = undefined
    this.log('stopped')
  }

  addrs (): string[] {
    return this.parts().node.getMultiaddrs().map(ma => ma.toString())
  }

  async share (path: string, options: ShareOptions = {}): Promise<ShareResult> {
    const r = this.parts()
    const { record, skipped } = await r.shares.addPath(path, { ...options, ...(this.options.chunkSize !== undefined ? { chunkSize: this.options.chunkSize } : {}) })
    r.discovery.announce(parseContentId(record.cid))
    const { cid, name, kind, size, files, chunks } = record
    const ipfs = await r.ipfs.rootOf(cid)
    return { cid, ticket: ticketFor(r.node, cid, name), name, path: record.path, kind, size, files, chunks, ...(ipfs !== undefined ? { ipfs } : {}), skipped }
  }

  // a UnixFS CID (raw or dag-pb, CIDv0 or v1) is fetched from IPFS over Bitswap; anything else is Shoal's
  async fetch (id: string, options: FetchCallOptions = {}): Promise<FetchResult> {
    const r = this.parts()
    if (isIpfsId(id)) {
      const { share: _share, ...result } = await r.ipfs.fetcher.fetch(id, options)
      return result
    }
    return await r.fetcher.fetch(id, options)
  }

  async startFetch (id: string, options: Omit<FetchCallOptions, 'signal'> = {}): Promise<TransferInfo> {
    const r = this.parts()
    return isIpfsId(id) ? await r.ipfs.fetcher.startDetached(id, options) : await r.fetcher.startDetached(id, options)
  }

  async pause (cid: string): Promise<TransferInfo> {
    const r = this.parts()
    return isIpfsId(cid) ? await r.ipfs.fetcher.pause(cid) : await r.fetcher.pause(cid)
  }

  async cancel (cid: string): Promise<CancelResult> {
    const r = this.parts()
    return isIpfsId(cid) ? await r.ipfs.fetcher.cancel(cid) : await r.fetcher.cancel(cid)
  }

  async status (): Promise<StatusInfo> {
    const r = this.parts()
    return nodeStatus({
      node: r.node,
      discovery: r.discovery,
      traffic: this.traffic,
      repo: r.repo.dir,
      startedAt: r.startedAt,
      network: r.network,
      relay: r.relay,
      shares: () => r.shares.size + r.fetcher.partialShares().length,
      transfers: () => [...r.fetcher.transfers(), ...r.ipfs.fetcher.transfers()],
      limits: () => ({ ...this.limiter.limits }),
      bitswap: () => r.ipfs.stats(),
      ...(r.metrics?.url !== undefined ? { metricsUrl: r.metrics.url } : {}),
      ...(r.gateway?.url !== undefined ? { gatewayUrl: r.gateway.url } : {})
    })
  }

  async peers (): Promise<PeerInfo[]> {
    return peerList(this.parts().node, this.traffic)
  }

  async connect (addr: string): Promise<ConnectResult> {
    return await this.parts().discovery.connect(addr)
  }

  async list (): Promise<ListResult> {
    const r = this.parts()
    const shares = [...r.shares.list(), ...r.fetcher.partialShares()].map(s => {
      const ipfs = r.ipfs.store.rootOf(s.cid)
      return { ...s, ticket: ticketFor(r.node, s.cid, s.name), ...(ipfs !== undefined ? { ipfs: ipfs.toString() } : {}) }
    })
    return { shares, downloads: [...await r.fetcher.downloads(), ...await r.ipfs.fetcher.downloads()] }
  }

  async chunkMap (cid: string): Promise<ChunkMap> {
    const r = this.parts()
    const id = parseContentId(cid).toString()
    return this.chunkMaps.get(id) ?? await restingChunkMap({
      records: r.records,
      held: c => r.fetcher.holdings.get(c)?.have,
      shared: c => r.shares.get(c)
    }, id)
  }

  async uiAccess (): Promise<UiAccess> {
    const r = this.parts()
    const base = r.gateway?.url
    if (base === undefined || r.uiToken === undefined) throw new ShoalError(ErrorCode.UI_UNAVAILABLE, 'this daemon serves no web UI: start it with --gateway HOST:PORT (or set "gateway" with shoal config)')
    // bound to every interface: the loopback address opens it on this machine (browsers refuse 0.0.0.0)
    const local = base.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:')
    return { url: `${local}/`, loginUrl: `${local}/?token=${r.uiToken}` }
  }

  async unshare (cid: string): Promise<UnshareResult> {
    const r = this.parts()
    const parsed = parseContentId(cid).toString()
    // a partial share: forget what it holds, as cancel does
    if (r.shares.get(parsed) === undefined && r.fetcher.partialShares().some(s => s.cid === parsed)) await r.fetcher.cancel(parsed)
    else await r.shares.remove(parsed)
    await r.discovery.withdraw(parseContentId(parsed))
    return { cid: parsed, removed: true }
  }

  async cat (id: string, path?: string, options: CatOptions = {}): Promise<CatStream> {
    const r = this.parts()
    const { start, end, local, signal, resolveTimeoutMs, readAheadBytes } = options
    const held = this.heldIpfs(id, path)
    return await r.fetcher.open(held?.share ?? id, held?.path ?? path, {
      waitMs: this.options.readTimeoutMs ?? READ_WAIT_MS,
      ...(start !== undefined ? { start } : {}),
      ...(end !== undefined ? { end } : {}),
      ...(local !== undefined ? { local } : {}),
      ...(signal !== undefined ? { signal } : {}),
      ...(resolveTimeoutMs !== undefined ? { resolveTimeoutMs } : {}),
      ...(readAheadBytes !== undefined ? { readAheadBytes } : {})
    })
  }

  async files (id: string, options: FilesOptions = {}): Promise<FilesResult> {
    const r = this.parts()
    const held = this.heldIpfs(id)
    const result = await r.fetcher.files(held?.share ?? id, options)
    // a file's own UnixFS CID: that file alone
    const only = (files: FilesResult['files']): FilesResult['files'] => held?.path === undefined ? files : files.filter(f => f.path === held.path)
    const file = held?.path === undefined ? undefined : result.files.find(f => f.path === held.path)
    if (file !== undefined) Object.assign(result, { size: file.size, held: file.held })
    if (options.ipfsCids === false) return { ...result, files: only(result.files) }
    // each file's UnixFS CID, when this node has laid the share out (it holds it, whole or in part)
    const root = r.ipfs.store.rootOf(result.cid)
    const cids = r.ipfs.fileCidsOf(result.cid)
    return {
      ...result,
      ...(root !== undefined ? { ipfs: root.toString() } : {}),
      files: only(result.files.map((f, i) => cids?.[i] !== undefined ? { ...f, ipfs: cids[i] } : f))
    }
  }


  /**
   * A UnixFS CID read here (`cat`, `files`) is the share this node holds
   * under it, or that share's file (its `path` then names a file inside
   * it, so no further path may follow). Anything else that is not an IPFS
   * CID is left to the caller; an IPFS CID not held is NOT_FOUND.
   */
  private heldIpfs (id: string, path?: string): { share: string, path?: string } | undefined {
    if (!isIpfsId(id)) return undefined
    const held = this.parts().ipfs.heldAs(parseIpfsCid(id))
    if (held === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `${id} is an IPFS CID this node does not hold: \`shoal fetch ${id}\` fetches it over Bitswap (cat and files read IPFS content only once it is here)`)
    if (held.path === undefined) return { share: held.share, ...(path !== undefined ? { path } : {}) }
    if (path !== undefined && path !== '') throw new ShoalError(ErrorCode.NOT_FOUND, `${id} is a file (${held.path}): there is no ${path} inside it`)
    return held
  }

  private parts (): Running {
    if (this.running === undefined) throw new ShoalError(ErrorCode.NOT_STARTED, 'the Shoal node is not running')
    return this.running
  }
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

/** A size setting in bytes (0: no limit); BAD_REQUEST naming `key` when it is not one. */
function sizeSetting (key: string, value: string | number): number {
  try {
    if (typeof value === 'string' && value.trim().endsWith('/s')) throw new Error('a size has no "/s"')
    return parseRate(value)
  } catch (err) {
    throw new ShoalError(ErrorCode.BAD_REQUEST, `${key}: ${(err as Error).message}; expected a size such as 20GiB (0 = no limit)`, { cause: err })
  }
}

/** Wait for `step` at most `ms`; a step that fails or takes longer is logged, and stopping goes on. */
async function bounded (log: Logger, step: Promise<unknown> | void | undefined, ms: number, what: string): Promise<void> {
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
