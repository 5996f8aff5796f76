import { multiaddr } from '@multiformats/multiaddr'
import { CID } from '@shoal/protocol'
import type { Shoal } from '../src/index.js'
import type { ShoalLibp2p } from '../src/net/libp2p-node.js'
import { requestManifest } from '../src/transfer/download/manifest-client.js'

/** Fetch the real manifest bytes of `cid` from `from`, as a bare host. */
export async function requestManifestFrom (host: ShoalLibp2p, from: Shoal, cid: string): Promise<Uint8Array> {
  const conn = await host.dial(multiaddr(from.addrs()[0] ?? ''))
  const got = await requestManifest(host, conn.remotePeer, CID.parse(cid))
  if (got === undefined) throw new Error('manifest not found')
  return got.bytes
}
