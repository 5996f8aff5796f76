import { multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { CID, ConnectResult } from '@shoal/protocol'
import type { PeerId, PeerInfo, Logger } from '@libp2p/interface'
import { BOOTSTRAP_RETRY_MAX_MS, BOOTSTRAP_RETRY_MIN_MS, DIAL_TIMEOUT_MS, FIND_PROVIDERS_TIMEOUT_MS } from '../constants.js'
import type { ShoalLibp2p } from './libp2p-node.js'

/** How long one provide() may take. */
const PROVIDE_TIMEOUT_MS = 30_000

export interface DiscoveryInit {
  /** Multiaddrs dialed at start. */
  bootstrap?: string[]
}

/**
 * Finding peers and content: bootstrap dials, dialing peers that mDNS finds,
 * announcing roots in the DHT (kad-dht re-provides them on its own timer)
 * and looking providers up.
 */
export class Discovery {
  private readonly log: Logger
  private readonly node: ShoalLibp2p
  private readonly bootstrap: string[]
  private readonly provided = new Set<string>()
  private readonly retries = new Set<NodeJS.Timeout>()
  private stopped = false
  /**
   * Peers found while libp2p was still starting, dialed at `start`: mDNS
   * queries the moment it starts and the answers come within milliseconds,
   * before the node can dial. Dropping them left a daemon unconnected
   * until the next query, 60 s later (`MDNS_INTERVAL_MS`).
   */
  private early: Map<string, PeerId> | undefined = new Map()
  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    const peer = evt.detail
    if (peer.id.equals(this.node.peerId)) return
    if (this.early !== undefined) this.early.set(peer.id.toString(), peer.id)
    else this.dialDiscovered(peer.id)
  }

  /** Listens for discovered peers from now on: make it before libp2p starts. */
  constructor (node: ShoalLibp2p, init: DiscoveryInit = {}) {
    this.log = node.logger.forComponent('shoal:discovery')
    this.node = node
    this.bootstrap = init.bootstrap ?? []
    this.node.addEventListener('peer:discovery', this.onDiscovery)
  }

  /**
   * Dial the peers found while libp2p started, and the bootstrap peers. Failed
   * bootstrap dials are retried in the background with backoff while we have
   * no connection to that peer (errors are returned, not thrown).
   */
  async start (): Promise<Array<{ addr: string, peerId?: string, error?: string }>> {
    const early = this.early ?? new Map<string, PeerId>()
    this.early = undefined
    for (const id of early.values()) this.dialDiscovered(id)
    return await Promise.all(this.bootstrap.map(async addr => {
      const result = await this.dialBootstrap(addr)
      if (result.error !== undefined) this.retryBootstrap(addr, BOOTSTRAP_RETRY_MIN_MS)
      return result
    }))
  }

  stop (): void {
    this.stopped = true
    this.early = undefined
    for (const t of this.retries) clearTimeout(t)
    this.retries.clear()
    this.node.removeEventListener('peer:discovery', this.onDiscovery)
  }

  private dialDiscovered (id: PeerId): void {
    if (this.stopped || this.node.getConnections(id).length > 0) return
    this.node.dial(id, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }).catch(err => { this.log('cannot dial discovered %p: %e', id, err) })
  }

  private async dialBootstrap (addr: string): Promise<{ addr: string, peerId?: string, error?: string }> {
    try {
      const conn = await this.node.dial(multiaddr(addr), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      return { addr, peerId: conn.remotePeer.toString() }
    } catch (err) {
      this.log.error('bootstrap peer %s: %e', addr, err)
      return { addr, error: (err as Error).message }
    }
  }

  private retryBootstrap (addr: string, delay: number): void {
    if (this.stopped) return
    const timer = setTimeout(() => {
      this.retries.delete(timer)
      void this.dialBootstrap(addr).then(r => {
        if (r.error !== undefined) this.retryBootstrap(addr, Math.min(BOOTSTRAP_RETRY_MAX_MS, delay * 2))
        else this.log('bootstrap peer %s reached on retry', addr)
      })
    }, delay)
    timer.unref()
    this.retries.add(timer)
  }

  /** Dial a multiaddr the user gave (`shoal connect`), giving up after DIAL_TIMEOUT_MS. */
  async connect (addr: string): Promise<ConnectResult> {
    let ma
    try {
      ma = multiaddr(addr)
    } catch (err) {
      throw new ShoalError(ErrorCode.INVALID_ADDRESS, `not a multiaddr: ${JSON.stringify(addr.slice(0, 200))}`, { cause: err })
    }
    try {
      const conn = await this.node.dial(ma, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      return { peerId: conn.remotePeer.toString() }
    } catch (err) {
      throw new ShoalError(ErrorCode.DIAL_FAILED, `cannot connect to ${addr}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    }
  }

  /** Announce that we provide `cid` (once per root; kad-dht keeps re-providing it). */
  announce (cid: CID): void {
    const key = cid.toString()
    if (this.provided.has(key)) return
    this.provided.add(key)
    this.node.contentRouting.provide(cid, { signal: AbortSignal.timeout(PROVIDE_TIMEOUT_MS) }).then(() => {
      this.log('announced %c', cid)
    }, err => {
      // no peers yet: the record stays in our own DHT store, which peers query
      this.log('announcing %c: %e', cid, err)
    })
  }

  /** Stop announcing `cid`. */
  async withdraw (cid: CID): Promise<void> {
    this.provided.delete(cid.toString())
    await this.node.services.dht.cancelReprovide(cid).catch(err => { this.log('withdrawing %c: %e', cid, err) })
  }

  /** Providers of `cid` from the DHT, with their addresses added to the peer store. */
  async * findProviders (cid: CID, signal?: AbortSignal): AsyncGenerator<PeerId> {
    const timeout = AbortSignal.timeout(FIND_PROVIDERS_TIMEOUT_MS)
    const opSignal = signal !== undefined ? AbortSignal.any([signal, timeout]) : timeout
    const seen = new Set<string>()
    try {
      for await (const provider of this.node.contentRouting.findProviders(cid, { signal: opSignal })) {
        if (provider.id.equals(this.node.peerId) || seen.has(provider.id.toString())) continue
        seen.add(provider.id.toString())
        if (provider.multiaddrs.length > 0) {
          await this.node.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs }).catch(err => { this.log('cannot store addresses of %p: %e', provider.id, err) })
        }
        yield provider.id
      }
    } catch (err) {
      if (!opSignal.aborted) this.log('finding providers of %c: %e', cid, err)
    }
  }

  /** Peers in the DHT routing table. */
  get routingTableSize (): number {
    const dht = this.node.services.dht as unknown as { routingTable?: { size: number } }
    return dht.routingTable?.size ?? 0
  }
}
