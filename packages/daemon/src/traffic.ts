import type { PeerId } from '@libp2p/interface'

export interface PeerTraffic {
  uploaded: number
  downloaded: number
}

/** Chunk payload bytes moved since the daemon started, in total and per peer. */
export class Traffic {
  uploaded = 0
  downloaded = 0
  private readonly perPeer = new Map<string, PeerTraffic>()

  onUploaded (peer: PeerId, bytes: number): void {
    this.uploaded += bytes
    this.entry(peer).uploaded += bytes
  }

  onDownloaded (peer: PeerId, bytes: number): void {
    this.downloaded += bytes
    this.entry(peer).downloaded += bytes
  }

  of (peer: string): PeerTraffic {
    return this.perPeer.get(peer) ?? { uploaded: 0, downloaded: 0 }
  }

  private entry (peer: PeerId): PeerTraffic {
    const key = peer.toString()
    let e = this.perPeer.get(key)
    if (e === undefined) { e = { uploaded: 0, downloaded: 0 }; this.perPeer.set(key, e) }
    return e
  }
}
