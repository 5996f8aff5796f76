import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, removePrivateAddressesMapper, removePublicAddressesMapper } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { DHT_PROTOCOL, LAN_INBOUND_CONNECTIONS_PER_SECOND, LAN_MAX_PENDING_INBOUND, MDNS_INTERVAL_MS, MDNS_SERVICE_TAG } from './constants.js'

/**
 * `lan`: a private swarm on a LAN or one machine — DHT servers that keep
 * private and loopback addresses (and drop public ones). `public`: the
 * internet setting, kad-dht's default filtering (private addresses dropped).
 */
export type NetworkMode = 'lan' | 'public'

export interface Libp2pInit {
  privateKey: PrivateKey
  listen: string[]
  datastore: Datastore
  /** @default 'lan' */
  network?: NetworkMode
  /** mDNS discovery. @default true */
  mdns?: boolean
}

export type ShoalLibp2p = Libp2p<{
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  dht: KadDHT
}>

/**
 * The libp2p host: TCP + Noise + Yamux, identify, ping, a Kademlia DHT under
 * Shoal's own protocol id, optional mDNS, the repo's datastore (so the peer
 * store and provider records survive restarts). Not started.
 */
export async function createShoalLibp2p (init: Libp2pInit): Promise<ShoalLibp2p> {
  const lan = (init.network ?? 'lan') === 'lan'
  const peerDiscovery: Array<ReturnType<typeof mdns>> = []
  if (init.mdns !== false) peerDiscovery.push(mdns({ interval: MDNS_INTERVAL_MS, serviceTag: MDNS_SERVICE_TAG }))
  return await createLibp2p({
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // libp2p refuses more than 5 inbound connections a second from one host;
    // on a LAN or one machine a whole swarm can be "one host" (every daemon
    // on 127.0.0.1), so bootstrapping a swarm at once would be refused
    connectionManager: lan
      ? { inboundConnectionThreshold: LAN_INBOUND_CONNECTIONS_PER_SECOND, maxIncomingPendingConnections: LAN_MAX_PENDING_INBOUND }
      : {},
    // A saturating transfer can delay the monitor's ping past its deadline and
    // the monitor would then kill a healthy connection (shared/STACK.md):
    // keep pinging for liveness data but never abort on a missed ping.
    connectionMonitor: { abortConnectionOnPingFailure: false },
    start: false,
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: DHT_PROTOCOL,
        // a node without public addresses would stay a client: nobody answers
        clientMode: false,
        peerInfoMapper: lan ? removePublicAddressesMapper : removePrivateAddressesMapper
      })
    }
  }) as unknown as ShoalLibp2p
}
