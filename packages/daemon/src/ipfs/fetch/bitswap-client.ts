/**
 * The fetching side of Bitswap, shared by every UnixFS fetch of a node:
 * sends want-blocks (with sendDontHave) and cancels, and routes what peers
 * send back. Every block is hashed once here: the CID its bytes hash to is
 * what it is, so a block is handed only to the fetches that want that exact
 * multihash — verified by construction; anything else is dropped.
 */
import { BitswapMessage, parseBlockPrefix } from '@shoal/protocol'
import type { Logger, PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { BitswapListener, BitswapNetwork } from '../bitswap/bitswap-network.js'
import { sha256 } from '../../storage/chunk-hash.js'

/** A sha2-256 multihash's code and length bytes, before its digest. */
const SHA2_256_PREFIX = Buffer.from([0x12, 0x20])

/** What a fetch hears from its providers. */
export interface BlockReceiver {
  /** True while it wants the block with this multihash key. */
  wants(key: string): boolean
  /** `peer` sent the block `key` (its bytes hash to it). */
  onBlock(peer: PeerId, key: string, bytes: Uint8Array): void
  /** `peer` does not have `key`. */
  onDontHave(peer: PeerId, key: string): void
  /** Bytes from `peer` are arriving (a block may be on its way). */
  onActivity(peer: PeerId): void
  /** `peer`'s last connection closed. */
  onPeerGone(peer: PeerId): void
}

/** Sends wants, routes blocks and presences to the fetches that want them. */
export class BitswapClient implements BitswapListener {
  private readonly receivers = new Set<BlockReceiver>()
  /** Blocks received that no fetch wanted (duplicates, unsolicited): for the bench's duplicate ratio. */
  unwanted = 0
  /** Blocks received, wanted or not, and their bytes. */
  received = 0
  bytesReceived = 0

  constructor (private readonly network: BitswapNetwork, private readonly log: Logger) {}

  add (receiver: BlockReceiver): void {
    this.receivers.add(receiver)
  }

  remove (receiver: BlockReceiver): void {
    this.receivers.delete(receiver)
  }

  /** Ask `peer` for these blocks (want-block, DONT_HAVE wanted when it lacks one). */
  async want (peer: PeerId, cids: CID[], signal?: AbortSignal): Promise<void> {
    if (cids.length === 0) return
    await this.network.send(peer, {
      wantlist: {
        full: false,
        entries: cids.map(cid => ({ block: cid.bytes as Uint8Array<ArrayBuffer>, priority: 1, cancel: false, wantType: BitswapMessage.Wantlist.WantType.Block, sendDontHave: true }))
      }
    }, signal)
  }

  /** Withdraw wants from `peer` (best effort). */
  cancel (peer: PeerId, cids: CID[]): void {
    if (cids.length === 0) return
    this.network.send(peer, {
      wantlist: {
        full: false,
        entries: cids.map(cid => ({ block: cid.bytes as Uint8Array<ArrayBuffer>, priority: 0, cancel: true, wantType: BitswapMessage.Wantlist.WantType.Block, sendDontHave: false }))
      }
    }).catch(err => { this.log('cannot cancel wants at %p: %e', peer, err) })
  }

  onMessage (peer: PeerId, message: BitswapMessage): void {
    if (this.receivers.size === 0) return
    for (const block of message.payload) {
      let key: string
      try {
        parseBlockPrefix(block.prefix) // CIDv0 or v1 with sha2-256, or the block is refused
        // the multihash of what was sent: sha2-256 of its bytes, whatever its prefix claims
        key = Buffer.concat([SHA2_256_PREFIX, sha256(block.data)]).toString('base64')
      } catch (err) {
        this.log('block with a bad prefix from %p: %e', peer, err)
        continue
      }
      this.received++
      this.bytesReceived += block.data.byteLength
      let wanted = false
      for (const r of this.receivers) {
        if (r.wants(key)) { wanted = true; r.onBlock(peer, key, block.data) }
      }
      if (!wanted) this.unwanted++
    }
    for (const presence of message.blockPresences) {
      if (presence.type !== BitswapMessage.BlockPresenceType.DontHave) continue
      const key = multihashKey(presence.cid)
      if (key === undefined) continue
      for (const r of this.receivers) if (r.wants(key)) r.onDontHave(peer, key)
    }
  }

  onBytes (peer: PeerId): void {
    for (const r of this.receivers) r.onActivity(peer)
  }

  onPeerGone (peer: PeerId): void {
    for (const r of this.receivers) r.onPeerGone(peer)
  }
}

/** The multihash key (as block-store.ts keyOf) of CID bytes, or undefined when they are not a CID. */
function multihashKey (cidBytes: Uint8Array): string | undefined {
  try {
    // CIDv0 is the bare multihash; CIDv1 is version, codec, multihash
    if (cidBytes[0] === 0x12 && cidBytes[1] === 0x20 && cidBytes.byteLength === 34) return Buffer.from(cidBytes).toString('base64')
    let at = 0
    for (let field = 0; field < 2; field++) {
      while (((cidBytes[at] ?? 0) & 0x80) !== 0) at++
      at++
    }
    return Buffer.from(cidBytes.subarray(at)).toString('base64')
  } catch {
    return undefined
  }
}
