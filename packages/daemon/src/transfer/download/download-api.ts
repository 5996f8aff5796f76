import type { Bitfield, ChunkLayout } from '@shoal/protocol'
import type { PeerId, Logger } from '@libp2p/interface'
import type { PartFiles } from '../../storage/part-files.js'
import type { DownloadRecord, Records } from '../../storage/records.js'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Wants } from './wants.js'

/** What a Download (download.ts) needs and gives, apart from how it works. */

export interface DownloadResult {
  cid: string
  path: string
  size: number
  seconds: number
}

export interface DownloadInit {
  log: Logger
  record: DownloadRecord
  layout: ChunkLayout
  part: PartFiles
  records: Records
  /** Chunks already on disk (resume). */
  have?: Bitfield
  /** Fail when no peer has given us anything for this long. @default STALL_TIMEOUT_MS */
  stallTimeoutMs?: number
  /** Fail when no provider at all is connected for this long. @default RESOLVE_TIMEOUT_MS */
  noProviderTimeoutMs?: number
  /** A peer's chunk (`index`) passed its hash check: called once per verified chunk, before it is written. */
  onDownloaded?: (peer: PeerId, bytes: number, index: number) => void
  /** A peer sent a chunk that failed its hash. */
  onBadPeer?: (peer: PeerId) => void
  /** Chunk `index` is verified and on disk (serve it, announce us, hand `data` to a reader waiting for it). */
  onChunk?: (index: number, data: Uint8Array | Uint8ArrayList) => void
  /** Which chunks to fetch, and which first. @default every chunk, no reader */
  wants?: Wants
  /** Once every wanted chunk is held: put the result in place. @default rename `<out>.part` to `out` */
  finish?: () => Promise<void>
  /** A peer suggested other peers for this root (peer exchange). */
  onPeers?: (addrs: string[]) => void
}
