import { Bitfield, ChunkLayout, parseContentId } from '@shoal/protocol'
import type { FetchEvent, TransferInfo } from '@shoal/protocol'
import type { PartFiles } from '../../storage/part-files.js'
import { chunkMatches } from '../../storage/chunk-hash.js'
import type { DownloadRecord, Records } from '../../storage/records.js'
import type { Download, DownloadResult } from './download.js'
import { storedManifest } from './download-setup.js'

/**
 * A download that is not running, as its record, stored bitfield and
 * manifest describe it. A record still 'active' that nothing runs (`resuming`
 * false) was interrupted: it shows as paused.
 */
export async function recordedInfo (records: Records, d: DownloadRecord, resuming: boolean): Promise<TransferInfo> {
  const state = (d.state === 'active' && !resuming) || d.state === 'partial' ? 'paused' : d.state
  const info: TransferInfo = { cid: d.cid, path: d.out ?? d.partPath, state, size: 0, received: 0, chunks: 0, chunksDone: 0, peers: 0, rate: 0, ...(d.error !== undefined ? { error: d.error } : {}) }
  const stored = await storedManifest(records, parseContentId(d.cid), d.name).catch(() => undefined)
  if (stored === undefined) return info
  const layout = new ChunkLayout(stored.manifest)
  info.size = layout.totalSize
  info.chunks = layout.chunkCount
  const bits = await records.getBitfield(d.cid).catch(() => undefined)
  if (bits === undefined || bits.byteLength !== Math.ceil(layout.chunkCount / 8)) return info
  const have = new Bitfield(layout.chunkCount, bits)
  for (let i = 0; i < layout.chunkCount; i++) {
    if (!have.has(i)) continue
    info.chunksDone++
    info.received += layout.locate(i).length
  }
  return info
}

/** A download that finished, as a TransferInfo. */
export function doneInfo (r: DownloadResult): TransferInfo {
  return { cid: r.cid, path: r.path, state: 'done', size: r.size, received: r.size, chunks: 0, chunksDone: 0, peers: 0, rate: 0 }
}

/** A running download's `progress` event. */
export function progressEvent (d: Download): FetchEvent {
  const info = d.info()
  return { type: 'progress', cid: info.cid, received: info.received, size: info.size, chunksDone: info.chunksDone, chunks: info.chunks, peers: info.peers, rate: info.rate }
}

/** A running download's figures; `size` and `received` are its selection's. */
export function runningInfo (d: Download, path: string, size: number, received: number): TransferInfo {
  return { cid: d.record.cid, path, state: d.isFinished ? 'done' : 'active', size, received, chunks: d.layout.chunkCount, chunksDone: d.have.count, peers: d.peerCount, rate: d.rate }
}

/**
 * Resume: re-hash every chunk `have` claims from the part files; those that
 * do not match (an OS crash can lose writes the bitfield recorded) are
 * cleared and handed to `dropped`. Returns how many.
 */
export async function rehashHeld (layout: ChunkLayout, have: Bitfield, part: PartFiles, dropped: (index: number) => void): Promise<number> {
  let n = 0
  for (let i = 0; i < layout.chunkCount; i++) {
    if (!have.has(i)) continue
    const data = await part.read(i)
    if (chunkMatches(layout, i, data)) continue
    have.clear(i)
    dropped(i)
    n++
  }
  return n
}
