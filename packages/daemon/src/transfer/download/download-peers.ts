import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { P2P_MULTIADDR_CODE } from '@shoal/protocol'
import type { CID } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import { RETRY_EMPTY_PEER_MS } from '../../constants.js'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'
import type { RelayBudgets } from '../../net/relay-budget.js'
import type { BandwidthLimiter } from '../rate-limit.js'
import type { Download } from './download.js'
import { PeerSession } from './peer-session.js'

export interface DownloadPeersInit {
  node: ShoalLibp2p
  download: Download
  cid: CID
  budgets: RelayBudgets
  /** Download caps: requests are paced to them. */
  limiter?: BandwidthLimiter
  /** True for ourselves and banned peers: never opened. */
  excluded: (peer: PeerId) => boolean
  /** Ends every attempt when the download ends. */
  signal: AbortSignal
}

/**
 * The peers of one running download: opens an xfer session to each provider
 * (at most once every RETRY_EMPTY_PEER_MS for a peer that had nothing),
 * dials peers that peer exchange suggests, opens a lost session again soon,
 * and moves sessions off a relay when a direct connection appears.
 */
export class DownloadPeers {
  private readonly log: Logger
  private readonly init: DownloadPeersInit
  /** peer → when we last tried to open a session with it */
  private readonly tried = new Map<string, number>()

  constructor (init: DownloadPeersInit) {
    this.log = init.node.logger.forComponent('shoal:fetch:peers')
    this.init = init
  }

  /** Open sessions to those of `peers` the download has none with. */
  async open (peers: PeerId[]): Promise<void> {
    const { download, signal } = this.init
    const now = Date.now()
    const fresh = peers.filter(p => {
      if (this.init.excluded(p) || download.hasSessionWith(p)) return false
      const last = this.tried.get(p.toString())
      return last === undefined || now - last > RETRY_EMPTY_PEER_MS
    })
    await Promise.allSettled(fresh.map(async peer => {
      this.tried.set(peer.toString(), Date.now())
      try {
        const limiter = this.init.limiter
        const session = await PeerSession.open({
          node: this.init.node,
          peer,
          cid: this.init.cid,
          layout: download.layout,
          events: download,
          budgets: this.init.budgets,
          signal,
          ...(limiter?.limitsDownload === true ? { pace: (p: PeerId, bytes: number) => limiter.download(p, bytes) } : {})
        })
        if (session === undefined) return
        // a relayed connection used up: go again at once (a new circuit, or a direct connection)
        session.onRetired = () => {
          this.tried.delete(peer.toString())
          void this.open([peer])
        }
        // lost (a relay cut the circuit, the connection dropped): dial that
        // peer again soon, without waiting for the next provider search
        session.onFailed = () => {
          if (download.isFinished || signal.aborted) return
          setTimeout(() => { if (!download.isFinished && !signal.aborted) void this.open([peer]) }, RETRY_EMPTY_PEER_MS).unref()
        }
        download.addSession(session)
      } catch (err) {
        this.log('no session with %p: %e', peer, err)
      }
    }))
  }

  /** Peer exchange: dial the peers another peer says fetch the same root. */
  async suggested (addrs: string[]): Promise<void> {
    const { node } = this.init
    const peers: PeerId[] = []
    for (const text of addrs) {
      try {
        const ma = multiaddr(text)
        const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
        if (id === undefined) continue
        const peer = peerIdFromString(id)
        if (peer.equals(node.peerId)) continue
        await node.peerStore.merge(peer, { multiaddrs: [ma.decapsulateCode(P2P_MULTIADDR_CODE)] })
        if (!peers.some(p => p.equals(peer))) peers.push(peer)
      } catch (err) {
        this.log('ignoring suggested peer %s: %e', text.slice(0, 200), err)
      }
    }
    if (peers.length > 0) await this.open(peers)
  }

  /** A direct connection to `peer` opened (hole punching worked): move its relayed sessions to it. */
  directConnection (peer: PeerId): void {
    if (!this.init.download.dropRelayedSessionsWith(peer)) return
    this.tried.delete(peer.toString())
    void this.open([peer])
  }
}
