/**
 * The serving side of Bitswap: each peer's want list is kept in a
 * {@link Ledger} (at most BITSWAP_MAX_WANTS_PER_PEER entries; later wants
 * are ignored until some are served or cancelled). A want-have is answered
 * at once — HAVE, or DONT_HAVE when asked for — and forgotten; a want-block for a block we hold is queued and sent
 * in its own message, read and verified when its turn comes (at most
 * BITSWAP_PEER_CONCURRENCY per peer and BITSWAP_MAX_CONCURRENT_SENDS in
 * all); one we lack gets DONT_HAVE when asked for and is forgotten. We never
 * keep wants for blocks we might get later: a hostile peer costs at most a
 * bounded want list, one frame per inbound stream, and its share of the send
 * slots.
 */
import { BITSWAP_110, BitswapMessage, blockPrefix } from '@shoal/protocol'
import type { Logger, PeerId } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import {
  BITSWAP_MAX_CONCURRENT_SENDS, BITSWAP_MAX_PRESENCES_PER_MESSAGE, BITSWAP_MAX_WANTS_PER_PEER,
  BITSWAP_PEER_CONCURRENCY
} from '../../constants.js'
import type { IpfsBlockStore } from '../block-store.js'
import { keyOf } from '../block-store.js'
import type { BitswapListener, BitswapNetwork } from './bitswap-network.js'
import { Slots } from '../../slots.js'

export interface BitswapServerComponents {
  network: BitswapNetwork
  store: Pick<IpfsBlockStore, 'has' | 'get'>
  log: Logger
  /** Told of every block sent. */
  stats?: { onUploaded(peer: PeerId, bytes: number): void }
  /** Upload caps: a block leaves once its bytes fit. */
  limiter?: { upload(peer: PeerId, bytes: number): { ready: Promise<void> } }
}

export interface BitswapServerInit {
  /** @default BITSWAP_MAX_WANTS_PER_PEER */
  maxWantsPerPeer?: number
  /** @default BITSWAP_PEER_CONCURRENCY */
  peerConcurrency?: number
  /** @default BITSWAP_MAX_CONCURRENT_SENDS */
  maxConcurrentSends?: number
}

/** What one peer wants of us: want-blocks waiting to be sent, oldest first. */
class Ledger {
  readonly wants = new Map<string, CID>()
  sending = 0
  constructor (readonly peer: PeerId) {}
}

/** Answers peers' want lists from the block store. */
export class BitswapServer implements BitswapListener {
  private readonly c: BitswapServerComponents
  private readonly ledgers = new Map<string, Ledger>()
  private readonly slots: Slots
  private readonly maxWants: number
  private readonly peerConcurrency: number
  /** Blocks sent since start, and bytes: for tests and status. */
  sentBlocks = 0
  sentBytes = 0

  constructor (components: BitswapServerComponents, init: BitswapServerInit = {}) {
    this.c = components
    this.maxWants = init.maxWantsPerPeer ?? BITSWAP_MAX_WANTS_PER_PEER
    this.peerConcurrency = init.peerConcurrency ?? BITSWAP_PEER_CONCURRENCY
    this.slots = new Slots(init.maxConcurrentSends ?? BITSWAP_MAX_CONCURRENT_SENDS)
  }

  /** Wants held for `peer` now (tests: a flood stays bounded). */
  wantsOf (peer: PeerId): number {
    return this.ledgers.get(peer.toString())?.wants.size ?? 0
  }

  onPeerGone (peer: PeerId): void {
    this.ledgers.delete(peer.toString())
  }

  onMessage (peer: PeerId, message: BitswapMessage, protocol: string): void {
    const wantlist = message.wantlist
    if (wantlist === undefined || wantlist.entries.length === 0 && !wantlist.full) return
    const key = peer.toString()
    let ledger = this.ledgers.get(key)
    if (ledger === undefined) {
      ledger = new Ledger(peer)
      this.ledgers.set(key, ledger)
    }
    // a full want list replaces what we held for the peer
    if (wantlist.full) ledger.wants.clear()
    const presences: BitswapMessage.BlockPresence[] = []
    const presencesAllowed = protocol !== BITSWAP_110
    for (const entry of wantlist.entries) {
      let cid: CID
      try {
        cid = CID.decode(entry.block)
      } catch {
        continue // not a CID: nothing anyone could hold
      }
      const wantKey = keyOf(cid)
      if (entry.cancel) { ledger.wants.delete(wantKey); continue }
      const held = this.c.store.has(cid)
      const isHave = entry.wantType === BitswapMessage.Wantlist.WantType.Have && presencesAllowed
      if (!held) {
        if (entry.sendDontHave && presencesAllowed) presences.push({ cid: entry.block, type: BitswapMessage.BlockPresenceType.DontHave })
        ledger.wants.delete(wantKey)
        continue
      }
      if (isHave) {
        presences.push({ cid: entry.block, type: BitswapMessage.BlockPresenceType.Have })
        continue
      }
      if (ledger.wants.has(wantKey) || ledger.wants.size < this.maxWants) ledger.wants.set(wantKey, cid)
    }
    if (presences.length > 0) void this.sendPresences(peer, presences)
    this.pump(ledger)
  }

  private async sendPresences (peer: PeerId, presences: BitswapMessage.BlockPresence[]): Promise<void> {
    for (let at = 0; at < presences.length; at += BITSWAP_MAX_PRESENCES_PER_MESSAGE) {
      try {
        await this.c.network.send(peer, { blockPresences: presences.slice(at, at + BITSWAP_MAX_PRESENCES_PER_MESSAGE) })
      } catch (err) {
        this.c.log('cannot answer %p: %e', peer, err)
        return
      }
    }
  }

  /** Start sending the oldest wanted blocks while the peer has room. */
  private pump (ledger: Ledger): void {
    while (ledger.sending < this.peerConcurrency && ledger.wants.size > 0) {
      const [wantKey, cid] = ledger.wants.entries().next().value as [string, CID]
      ledger.wants.delete(wantKey)
      ledger.sending++
      void this.sendBlock(ledger, cid).finally(() => {
        ledger.sending--
        if (this.ledgers.get(ledger.peer.toString()) === ledger) this.pump(ledger)
      })
    }
  }

  private async sendBlock (ledger: Ledger, cid: CID): Promise<void> {
    const release = await this.slots.acquire()
    try {
      // cancelled, or the peer left, while waiting for a slot
      if (this.ledgers.get(ledger.peer.toString()) !== ledger) return
      const bytes = await this.c.store.get(cid)
      if (bytes === undefined) {
        await this.c.network.send(ledger.peer, { blockPresences: [{ cid: cid.bytes, type: BitswapMessage.BlockPresenceType.DontHave }] }).catch(() => {})
        return
      }
      await this.c.limiter?.upload(ledger.peer, bytes.byteLength).ready
      await this.c.network.send(ledger.peer, { payload: [{ prefix: blockPrefix(cid) as Uint8Array<ArrayBuffer>, data: bytes as Uint8Array<ArrayBuffer> }] })
      this.sentBlocks++
      this.sentBytes += bytes.byteLength
      this.c.stats?.onUploaded(ledger.peer, bytes.byteLength)
    } catch (err) {
      // the peer is gone or stopped reading: forget what it wanted
      this.c.log('sending %c to %p failed: %e', cid, ledger.peer, err)
      this.ledgers.delete(ledger.peer.toString())
    } finally {
      release()
    }
  }
}
