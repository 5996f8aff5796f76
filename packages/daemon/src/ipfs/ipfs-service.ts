/**
 * The IPFS side of a node, built in one place: the repo's IPFS records, the
 * block store (dag-pb nodes from the repo, leaves read in place), the share
 * DAGs kept in step with the share registry, Bitswap's network and its
 * server, the UnixFS fetcher, and the announcements of every share's UnixFS
 * root (and, for small directories, its files' roots) in the DHT.
 */
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { CID } from 'multiformats/cid'
import type { BitswapStats } from '@shoal/protocol'
import { IPFS_PROVIDE_MAX_FILES } from '../constants.js'
import type { ShoalLibp2p } from '../net/libp2p-node.js'
import type { Records } from '../storage/records.js'
import type { ShareRegistry } from '../storage/share-registry.js'
import { IpfsBlockStore } from './block-store.js'
import { BitswapNetwork } from './bitswap/bitswap-network.js'
import { BitswapServer } from './bitswap/bitswap-server.js'
import { IpfsRecords } from './ipfs-records.js'
import { IpfsShares } from './ipfs-shares.js'
import { trustlessGateway } from './trustless-gateway.js'
import type { TrustlessGatewayHandler } from './trustless-gateway.js'
import { BitswapClient } from './fetch/bitswap-client.js'
import { IpfsFetchRecords } from './fetch/fetch-records.js'
import { IpfsFetcher } from './fetch/ipfs-fetcher.js'
import type { FetchRunComponents } from './fetch/ipfs-fetch-run.js'
import type { Discovery } from '../net/discovery.js'

export interface IpfsServiceComponents {
  node: ShoalLibp2p
  datastore: Datastore
  records: Records
  shares: ShareRegistry
  logger: ComponentLogger
  /** Announces a CID in the DHT (once per run; re-provided by kad-dht). */
  announce: (cid: CID) => void
  /** Stops announcing a CID. */
  withdraw: (cid: CID) => Promise<void>
  /** DHT lookups of providers (a fetch's root). */
  findProviders: Discovery['findProviders']
  stats?: { onUploaded(peer: PeerId, bytes: number): void, onDownloaded(peer: PeerId, bytes: number): void }
  /** Fail a fetch when no block arrived for this long (ms). */
  stallTimeoutMs?: number
  /** How long a fetch looks for providers before NO_PROVIDERS (ms). */
  resolveTimeoutMs?: number
  /** Bandwidth caps: blocks served wait for upload room, wants of a fetch for download room. */
  limiter?: { upload(peer: PeerId, bytes: number): { ready: Promise<void> } } & NonNullable<FetchRunComponents['limiter']>
}

/** What the rest of the node uses of the IPFS side. */
export class IpfsService {
  readonly records: IpfsRecords
  readonly store: IpfsBlockStore
  readonly shares: IpfsShares
  readonly network: BitswapNetwork
  readonly server: BitswapServer
  readonly client: BitswapClient
  readonly fetcher: IpfsFetcher
  private readonly c: IpfsServiceComponents
  private readonly log: Logger

  constructor (components: IpfsServiceComponents) {
    this.c = components
    this.log = components.logger.forComponent('shoal:ipfs')
    // the DAGs of shares, in the repo
    this.records = new IpfsRecords(components.datastore)
    // blocks by multihash: nodes from the repo, leaves from the shared files, verified
    this.store = new IpfsBlockStore({ records: this.records, lookup: cid => components.shares.lookup(cid), log: components.logger.forComponent('shoal:ipfs:blocks') })
    // a DAG for every share, built or dropped as shares come and go
    this.shares = new IpfsShares({
      records: components.records,
      ipfsRecords: this.records,
      store: this.store,
      share: cid => components.shares.get(cid),
      layout: cid => components.shares.lookup(cid)?.layout,
      list: () => components.shares.list(),
      log: components.logger.forComponent('shoal:ipfs:shares')
    })
    // Bitswap's streams, and the server answering want lists from the store
    this.network = new BitswapNetwork(components.node, { log: components.logger.forComponent('shoal:ipfs:bitswap') })
    this.server = new BitswapServer({
      network: this.network,
      store: this.store,
      log: components.logger.forComponent('shoal:ipfs:bitswap-server'),
      ...(components.stats !== undefined ? { stats: components.stats } : {}),
      ...(components.limiter !== undefined ? { limiter: components.limiter } : {})
    })
    this.network.addListener(this.server)
    // fetching: wants out, blocks and presences routed to the fetches that want them
    this.client = new BitswapClient(this.network, components.logger.forComponent('shoal:ipfs:bitswap-client'))
    this.network.addListener(this.client)
    this.fetcher = new IpfsFetcher({
      node: components.node,
      discovery: { findProviders: components.findProviders, announce: components.announce },
      client: this.client,
      fetchRecords: new IpfsFetchRecords(components.datastore),
      records: components.records,
      shares: components.shares,
      ipfsShares: this.shares,
      logger: components.logger,
      ...(components.stats !== undefined ? { stats: components.stats } : {}),
      ...(components.limiter !== undefined ? { limiter: components.limiter } : {})
    }, {
      ...(components.stallTimeoutMs !== undefined ? { stallTimeoutMs: components.stallTimeoutMs } : {}),
      ...(components.resolveTimeoutMs !== undefined ? { resolveTimeoutMs: components.resolveTimeoutMs } : {})
    })
    components.shares.onChange(event => {
      if (event.type === 'added') void this.shares.added(event.cid).then(root => { if (root !== undefined) this.announce(event.cid) })
      else void this.forget(event.cid)
    })
  }

  /** Serve Bitswap; index (and announce) the DAG of every share held. */
  async start (): Promise<void> {
    await this.network.start()
    await this.shares.load()
  }

  /** Announce the UnixFS roots of every share indexed (at start, once the DHT runs). */
  announceAll (): void {
    for (const cid of this.store.sharesIndexed()) this.announce(cid)
  }

  /** Stop fetches (kept to resume), then Bitswap. */
  async stop (): Promise<void> {
    await this.fetcher.stop()
    await this.network.stop()
  }

  /** Bitswap traffic since start, for status. */
  stats (): BitswapStats {
    return { blocksSent: this.server.sentBlocks, bytesSent: this.server.sentBytes, blocksReceived: this.client.received, bytesReceived: this.client.bytesReceived, duplicateBlocks: this.client.unwanted }
  }

  /** The trustless gateway's request handler (`/ipfs/<cid>?format=raw|car`) for the node's HTTP gateway. */
  gateway (): TrustlessGatewayHandler {
    return trustlessGateway({ store: this.store, log: this.c.logger.forComponent('shoal:ipfs:gateway') })
  }

  /** Each file's UnixFS CID, in manifest order (for `shoal files`), when the share is laid out. */
  fileCidsOf (share: string): string[] | undefined {
    return this.store.fileRootsOf(share)?.strings()
  }

  /**
   * The share an IPFS CID names here: a share's UnixFS root, or one of its
   * files' roots (then `path` is that file's). Undefined when no share laid
   * out here has it.
   */
  heldAs (ipfsCid: CID): { share: string, path?: string } | undefined {
    const bytes = ipfsCid.bytes
    for (const share of this.store.sharesIndexed()) {
      if (this.store.rootOf(share)?.equals(ipfsCid) === true) return { share }
    }
    for (const share of this.store.sharesIndexed()) {
      const roots = this.store.fileRootsOf(share)
      const files = this.c.shares.lookup(share)?.layout.manifest.files
      if (roots === undefined || files === undefined) continue
      for (let i = 0; i < roots.length; i++) {
        const at = roots.bytesAt(i)
        if (at !== undefined && Buffer.compare(at, bytes) === 0) return { share, path: (files[i] as { path: string }).path }
      }
    }
    return undefined
  }

  /** The UnixFS CID of a share (laid out now if it was not yet). */
  async rootOf (share: string): Promise<string | undefined> {
    return (await this.shares.rootOf(share))?.toString()
  }

  private announce (share: string): void {
    for (const cid of this.announcedOf(share)) this.c.announce(cid)
  }

  /** What this node provides in the DHT for a share: its root, and its file roots when it has a few (`IPFS_PROVIDE_MAX_FILES`). */
  private announcedOf (share: string): CID[] {
    const root = this.store.rootOf(share)
    if (root === undefined) return []
    const files = this.store.fileRootsOf(share)
    return files !== undefined && files.length > 1 && files.length <= IPFS_PROVIDE_MAX_FILES ? [root, ...files] : [root]
  }

  private async forget (share: string): Promise<void> {
    // only what was announced is withdrawn (not 200,000 file roots that never were)
    const announced = this.announcedOf(share)
    try {
      await this.shares.removed(share)
      // another share may announce the same CID (the same bytes shared twice): keep announcing it then
      const still = new Set(this.store.sharesIndexed().flatMap(s => this.announcedOf(s).map(c => c.toString())))
      for (const cid of announced) if (!still.has(cid.toString())) await this.c.withdraw(cid)
    } catch (err) {
      this.log.error('cannot forget the UnixFS DAG of %s: %e', share, err)
    }
  }
}
