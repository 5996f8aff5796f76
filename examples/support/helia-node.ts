/**
 * A stock Helia node (helia 7, @helia/unixfs defaults) for tests and the
 * bench: the real thing Shoal's IPFS side is judged against. Nothing of
 * Shoal runs inside it; only its network is pinned down: TCP on loopback,
 * Noise, Yamux, identify, no bootstrap, no mDNS, no DHT, no HTTP routers or
 * gateways (no traffic may leave this machine), and libp2p's connection
 * monitor off (it killed busy connections under load, shared/STACK.md).
 * Its bitswap is Helia's own, with its defaults.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { unixfs } from '@helia/unixfs'
import type { UnixFS } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createHelia, createHeliaLight } from 'helia'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'

/** A started Helia node with its UnixFS API. */
export interface HeliaNode {
  helia: ReturnType<typeof createHelia>
  fs: UnixFS
  /** Dialable addresses, each ending in /p2p/<peer id>. */
  addrs: string[]
  stop(): Promise<void>
}

/** Start a networked Helia node listening on loopback TCP. */
export async function startHelia (): Promise<HeliaNode> {
  const helia = createHelia({
    libp2p: {
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: [],
      connectionMonitor: { enabled: false },
      services: { identify: identify() }
    },
    http: { delegatedRouters: [], recursiveGateways: [] }
  })
  await helia.start()
  return {
    helia,
    fs: unixfs(helia),
    addrs: helia.libp2p.getMultiaddrs().map(ma => ma.toString()),
    stop: async () => { await helia.stop() }
  }
}

/** A blockstore that keeps nothing: for computing CIDs of content too big to hold. */
export function discardingBlockstore (): Blockstore {
  return {
    put: async (cid: CID) => cid,
    get: async () => { throw new Error('discarding blockstore holds nothing') },
    has: async () => false,
    delete: async () => {},
    putMany: async function * (source: AsyncIterable<{ cid: CID }> | Iterable<{ cid: CID }>) { for await (const { cid } of source) yield cid },
    getMany: async function * () {},
    deleteMany: async function * () {},
    getAll: async function * () {}
  } as unknown as Blockstore
}

/** Helia without a network, over `blockstore`: the CID Helia's `addByteStream`/`addAll` defaults give. */
export function offlineUnixfs (blockstore?: Blockstore): UnixFS {
  return unixfs(createHeliaLight(blockstore !== undefined ? { blockstore } : {}))
}
