import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export interface Libp2pInit {
  privateKey: PrivateKey
  listen: string[]
  datastore: Datastore
}

export type ShoalLibp2p = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }>

/**
 * The libp2p host: TCP + Noise + Yamux, identify and ping, the repo's
 * datastore (so the peer store survives restarts). Not started.
 */
export async function createShoalLibp2p (init: Libp2pInit): Promise<ShoalLibp2p> {
  return await createLibp2p({
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // A saturating transfer can delay the monitor's ping past its deadline and
    // the monitor would then kill a healthy connection (shared/STACK.md):
    // keep pinging for liveness data but never abort on a missed ping.
    connectionMonitor: { abortConnectionOnPingFailure: false },
    start: false,
    services: {
      identify: identify(),
      ping: ping()
    }
  })
}
