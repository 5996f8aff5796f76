import type { PeerId } from '@libp2p/interface'
import { RATE_METER_SPAN_MS } from '../constants.js'

const SLOT_MS = 250
const SLOTS = Math.ceil(RATE_METER_SPAN_MS / SLOT_MS)

/** Bytes per second over the last RATE_METER_SPAN_MS, in 250 ms slots. */
export class RateMeter {
  private readonly slots = new Float64Array(SLOTS)
  private slotAt = 0

  add (bytes: number, now = Date.now()): void {
    this.advance(now)
    this.slots[this.slotAt % SLOTS] = (this.slots[this.slotAt % SLOTS] as number) + bytes
  }

  rate (now = Date.now()): number {
    this.advance(now)
    let sum = 0
    for (const v of this.slots) sum += v
    return Math.round(sum / (RATE_METER_SPAN_MS / 1000))
  }

  private advance (now: number): void {
    const slot = Math.floor(now / SLOT_MS)
    if (slot - this.slotAt >= SLOTS) this.slots.fill(0)
    else for (let s = this.slotAt + 1; s <= slot; s++) this.slots[s % SLOTS] = 0
    if (slot > this.slotAt) this.slotAt = slot
  }
}

export interface PeerTraffic {
  uploaded: number
  downloaded: number
}

interface PeerMeters extends PeerTraffic {
  up: RateMeter
  down: RateMeter
}

/** Chunk payload bytes moved since the daemon started, in total and per peer. */
export class Traffic {
  uploaded = 0
  downloaded = 0
  private readonly up = new RateMeter()
  private readonly down = new RateMeter()
  private readonly perPeer = new Map<string, PeerMeters>()

  onUploaded (peer: PeerId, bytes: number): void {
    this.uploaded += bytes
    this.up.add(bytes)
    const e = this.entry(peer)
    e.uploaded += bytes
    e.up.add(bytes)
  }

  onDownloaded (peer: PeerId, bytes: number): void {
    this.downloaded += bytes
    this.down.add(bytes)
    const e = this.entry(peer)
    e.downloaded += bytes
    e.down.add(bytes)
  }

  /** Current upload and download rates (bytes/s), in total or for one peer. */
  rates (peer?: string): { uploadRate: number, downloadRate: number } {
    if (peer === undefined) return { uploadRate: this.up.rate(), downloadRate: this.down.rate() }
    const e = this.perPeer.get(peer)
    return e === undefined ? { uploadRate: 0, downloadRate: 0 } : { uploadRate: e.up.rate(), downloadRate: e.down.rate() }
  }

  /** Chunks received from peers that matched their hash, and that failed it (metrics.ts reads these). */
  chunksVerified = 0
  chunksRejected = 0

  onChunkVerified (): void { this.chunksVerified++ }

  onChunkRejected (): void { this.chunksRejected++ }

  of (peer: string): PeerTraffic {
    const e = this.perPeer.get(peer)
    return e === undefined ? { uploaded: 0, downloaded: 0 } : { uploaded: e.uploaded, downloaded: e.downloaded }
  }

  /** Every peer chunks were sent to or received from, with its totals. */
  peers (): IterableIterator<[string, PeerTraffic]> {
    return this.perPeer.entries()
  }

  private entry (peer: PeerId): PeerMeters {
    const key = peer.toString()
    let e = this.perPeer.get(key)
    if (e === undefined) { e = { uploaded: 0, downloaded: 0, up: new RateMeter(), down: new RateMeter() }; this.perPeer.set(key, e) }
    return e
  }
}
