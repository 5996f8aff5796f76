import { MAX_PEX_PEERS, P2P_MULTIADDR_CODE } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import type { ShoalLibp2p } from '../../net/libp2p-node.js'

type Notify = (addrs: string[]) => void

/**
 * Peer exchange: the peers fetching a root from us learn about each other,
 * so leechers trade chunks without waiting for the DHT.
 */
export class PeerExchange {
  private readonly log: Logger
  private readonly node: ShoalLibp2p
  /** root → peer id → how to tell that peer about newcomers */
  private readonly swarms = new Map<string, Map<string, { peer: PeerId, notify: Notify }>>()

  constructor (node: ShoalLibp2p) {
    this.log = node.logger.forComponent('shoal:pex')
    this.node = node
  }

  /**
   * `peer` opened an xfer stream for `cid`: tell it who else is here, tell
   * the others about it. Returns the function to call when the stream ends.
   */
  async join (cid: string, peer: PeerId, notify: Notify): Promise<() => void> {
    let swarm = this.swarms.get(cid)
    if (swarm === undefined) { swarm = new Map(); this.swarms.set(cid, swarm) }
    const key = peer.toString()
    const others = [...swarm.values()].filter(o => !o.peer.equals(peer)).slice(-MAX_PEX_PEERS)
    if (others.length > 0) {
      const addrs = (await Promise.all(others.map(async o => await this.addrsOf(o.peer)))).flat().slice(0, MAX_PEX_PEERS)
      if (addrs.length > 0) notify(addrs)
    }
    const mine = await this.addrsOf(peer)
    if (mine.length > 0) for (const o of others) o.notify(mine)
    const entry = { peer, notify }
    swarm.set(key, entry)
    return () => {
      const s = this.swarms.get(cid)
      if (s?.get(key) !== entry) return
      s.delete(key)
      if (s.size === 0) this.swarms.delete(cid)
    }
  }

  /** How many peers have an xfer stream open with us for `cid`. */
  swarmSize (cid: string): number {
    return this.swarms.get(cid)?.size ?? 0
  }

  /** Dialable addresses of a peer (from identify), ending in /p2p/<id>. */
  private async addrsOf (peer: PeerId): Promise<string[]> {
    try {
      const known = await this.node.peerStore.get(peer)
      return known.addresses.slice(0, 4).map(a => `${a.multiaddr.decapsulateCode(P2P_MULTIADDR_CODE).toString()}/p2p/${peer.toString()}`)
    } catch (err) {
      this.log('no addresses for %p: %e', peer, err)
      return []
    }
  }
}
