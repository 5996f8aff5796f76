import { SHOAL_VERSION } from '@shoal/protocol'
import type { PeerInfo, StatusInfo, TransferInfo } from '@shoal/protocol'
import type { Discovery } from '../net/discovery.js'
import type { ShoalLibp2p } from '../net/libp2p-node.js'
import type { Traffic } from './traffic.js'

/** What a status snapshot reads. */
export interface StatusSources {
  node: ShoalLibp2p
  discovery: Discovery
  traffic: Traffic
  repo: string
  startedAt: number
  network: 'lan' | 'public'
  relay: boolean
  shares: () => number
  transfers: () => TransferInfo[]
  limits: () => StatusInfo['limits']
  metricsUrl?: string
  /** The gateway's base URL, when it is on. */
  gatewayUrl?: string
  bitswap?: () => StatusInfo['bitswap']
}

/** A snapshot of the node: `shoal status`. */
export function nodeStatus (s: StatusSources): StatusInfo {
  return {
    peerId: s.node.peerId.toString(),
    addrs: s.node.getMultiaddrs().map(ma => ma.toString()),
    repo: s.repo,
    version: SHOAL_VERSION,
    connections: s.node.getConnections().length,
    peers: s.node.getPeers().length,
    shares: s.shares(),
    transfers: s.transfers(),
    uptimeSeconds: Math.round((Date.now() - s.startedAt) / 1000),
    dhtPeers: s.discovery.routingTableSize,
    network: s.network,
    relay: s.relay,
    uploaded: s.traffic.uploaded,
    downloaded: s.traffic.downloaded,
    ...s.traffic.rates(),
    limits: s.limits(),
    ...(s.metricsUrl !== undefined ? { metrics: s.metricsUrl } : {}),
    ...(s.gatewayUrl !== undefined ? { gateway: s.gatewayUrl } : {}),
    ...(s.bitswap !== undefined ? { bitswap: s.bitswap() } : {})
  }
}

/** The peers connected now, one entry per peer (several connections merged), with the chunk bytes traded with each. */
export function peerList (node: ShoalLibp2p, traffic: Traffic): PeerInfo[] {
  const byPeer = new Map<string, PeerInfo>()
  for (const conn of node.getConnections()) {
    const key = conn.remotePeer.toString()
    const t = { ...traffic.of(key), ...traffic.rates(key) }
    const existing = byPeer.get(key)
    if (existing === undefined) {
      byPeer.set(key, { peerId: key, addrs: [conn.remoteAddr.toString()], connections: 1, direction: conn.direction, relayed: isRelayed(conn.remoteAddr.toString()), uploaded: t.uploaded, downloaded: t.downloaded, uploadRate: t.uploadRate, downloadRate: t.downloadRate })
    } else {
      existing.connections++
      existing.relayed &&= isRelayed(conn.remoteAddr.toString())
      if (!existing.addrs.includes(conn.remoteAddr.toString())) existing.addrs.push(conn.remoteAddr.toString())
      if (existing.direction !== conn.direction) existing.direction = 'mixed'
    }
  }
  return [...byPeer.values()]
}

/** True for an address through a circuit relay. */
function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}
