import { noise } from '@chainsafe/libp2p-noise'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { uPnPNAT } from '@libp2p/upnp-nat'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { kadDHT, removePrivateAddressesMapper, removePublicAddressesMapper } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { Libp2pOptions } from 'libp2p'
import type { ComponentLogger, Libp2p, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { AMINO_DHT_PROTOCOL, DHT_PROTOCOL, RELAY_DEFAULT_DATA_LIMIT, RELAY_DEFAULT_DURATION_LIMIT_MS, RELAY_MAX_RESERVATIONS, LAN_INBOUND_CONNECTIONS_PER_SECOND, LAN_MAX_PENDING_INBOUND, MDNS_INTERVAL_MS, MDNS_SERVICE_TAG } from '../constants.js'

/**
 * `lan`: a private swarm on a LAN or one machine — DHT servers that keep
 * private and loopback addresses (and drop public ones). `public`: the
 * internet setting, kad-dht's default filtering (private addresses dropped).
 */
export type NetworkMode = 'lan' | 'public'

export interface Libp2pInit {
  privateKey: PrivateKey
  /** Names every libp2p logger after the node (shoal-node.ts). @default libp2p's */
  logger?: ComponentLogger
  listen: string[]
  datastore: Datastore
  /** @default 'lan' */
  network?: NetworkMode
  /** mDNS discovery. @default true */
  mdns?: boolean
  /** Serve as a circuit relay v2 for others. @default false */
  relay?: boolean
  /** Bytes one relayed connection may carry when this node relays. @default RELAY_DEFAULT_DATA_LIMIT */
  relayDataLimit?: number
  /** UPnP / NAT-PMP port mapping. @default true in public mode */
  upnp?: boolean
  /** libp2p's metrics service (`ShoalMetrics.libp2p`, metrics.ts). @default none */
  metrics?: Libp2pOptions['metrics']
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
  // NAT traversal: every node can dial and be dialed through relays
  // (circuit relay v2 transport) and upgrade a relayed connection to a direct
  // one (DCUtR). Public mode adds AutoNAT v2 (learn whether our addresses are
  // reachable; kad-dht then picks server or client mode) and UPnP.
  const nat: Record<string, unknown> = { dcutr: dcutr() }
  if (!lan) nat.autoNAT = autoNATv2()
  if (init.upnp ?? !lan) nat.upnp = uPnPNAT()
  if (init.relay === true) {
    nat.relay = circuitRelayServer({
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        defaultDataLimit: BigInt(Math.floor(init.relayDataLimit ?? RELAY_DEFAULT_DATA_LIMIT)),
        defaultDurationLimit: RELAY_DEFAULT_DURATION_LIMIT_MS
      }
    })
  }
  const peerDiscovery: Array<ReturnType<typeof mdns>> = []
  if (init.mdns !== false) peerDiscovery.push(mdns({ interval: MDNS_INTERVAL_MS, serviceTag: MDNS_SERVICE_TAG }))
  return await createLibp2p({
    privateKey: init.privateKey,
    datastore: init.datastore,
    ...(init.logger !== undefined ? { logger: init.logger } : {}),
    ...(init.metrics !== undefined ? { metrics: init.metrics } : {}),
    addresses: { listen: init.listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    // libp2p refuses more than 5 inbound connections a second from one host;
    // on a LAN or one machine a whole swarm can be "one host" (every daemon
    // on 127.0.0.1), so bootstrapping a swarm at once would be refused
    connectionManager: lan
      ? { inboundConnectionThreshold: LAN_INBOUND_CONNECTIONS_PER_SECOND, maxIncomingPendingConnections: LAN_MAX_PENDING_INBOUND }
      : {},
    // The connection monitor opens a ping stream on every connection every
    // 10 s: in a mesh of ten idle daemons that was 1% of a core per daemon,
    // nearly all of their idle cost (bench 8), for a round-trip time nothing
    // reads; and under a saturating transfer its missed pings killed healthy
    // connections (shared/STACK.md). Yamux's own keepalive (a frame every
    // 30 s, no stream) keeps idle connections alive; transfers notice a
    // silent peer themselves (SESSION_STALL_MS).
    connectionMonitor: { enabled: false },
    start: false,
    services: {
      identify: identify(),
      ping: ping(),
      dht: lan
        ? kadDHT({
          protocol: DHT_PROTOCOL,
          // a node without public addresses would stay a client: nobody answers
          clientMode: false,
          peerInfoMapper: removePublicAddressesMapper
        })
        // the public Amino DHT (IPFS), kad-dht's defaults: server mode once
        // AutoNAT confirms a public address, private addresses filtered out
        : kadDHT({ protocol: AMINO_DHT_PROTOCOL, peerInfoMapper: removePrivateAddressesMapper }),
      ...nat
    }
  }) as unknown as ShoalLibp2p
}

/**
 * Public mode also listens through relays (`/p2p-circuit`): behind a NAT,
 * the node takes a reservation on a relay it is connected to and can be
 * dialed there.
 */
export function listenAddrs (listen: string[], network: 'lan' | 'public', relay: boolean): string[] {
  for (const addr of listen) {
    try {
      multiaddr(addr)
    } catch (err) {
      throw new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot listen on ${JSON.stringify(addr.slice(0, 200))}: not a multiaddr (${(err as Error).message})`, { cause: err })
    }
  }
  // a relay is meant to be reachable itself: it takes no reservations elsewhere
  return network === 'public' && !relay && !listen.includes('/p2p-circuit') ? [...listen, '/p2p-circuit'] : listen
}
