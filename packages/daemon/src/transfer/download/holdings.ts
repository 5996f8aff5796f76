import type { ComponentLogger, Logger } from '@libp2p/interface'
import type { ChunkLayout, ShareInfo } from '@shoal/protocol'
import type { DownloadRecord, Records } from '../../storage/records.js'
import { FileStamps } from '../../storage/file-stamps.js'
import { toShareInfo } from '../../storage/share-registry.js'
import type { ShareRegistry } from '../../storage/share-registry.js'
import { loadHolding } from './holding.js'
import type { Holding } from './holding.js'

/**
 * The holdings loaded now, one per root this node holds part of: those of
 * running downloads, and partial shares at rest (loaded at start from their
 * `partial` records), which serve the chunks they hold.
 */
export class Holdings {
  private readonly log: Logger
  private readonly loaded = new Map<string, Holding>()

  constructor (private readonly c: { records: Records, shares: ShareRegistry, logger: ComponentLogger }) {
    this.log = c.logger.forComponent('shoal:holdings')
  }

  get (cid: string): Holding | undefined {
    return this.loaded.get(cid)
  }

  has (cid: string): boolean {
    return this.loaded.has(cid)
  }

  /** Load `record`'s holding (its bitfield unless `fresh`) and keep it loaded; `layout`: `manifestBytes` decoded, when the caller has it. */
  async load (record: DownloadRecord, manifestBytes: Uint8Array, fresh = false, layout?: ChunkLayout): Promise<Holding> {
    const holding = await loadHolding(this.c.records, record, manifestBytes, this.c.logger.forComponent('shoal:part-files'), () => this.c.shares.lookup(record.cid), fresh, layout)
    this.loaded.set(record.cid, holding)
    return holding
  }

  /** Load every partial share recorded (at start). */
  async loadPartials (recorded: DownloadRecord[]): Promise<void> {
    for (const d of recorded.filter(r => r.state === 'partial')) {
      const bytes = await this.c.records.getManifest(d.cid)
      if (bytes === undefined) continue
      await this.load(d, bytes).catch(err => { this.log.error('cannot load partial %s: %e', d.cid, err) })
    }
  }

  /** Unload and close the holding of `cid`. */
  async drop (cid: string): Promise<void> {
    const holding = this.loaded.get(cid)
    this.loaded.delete(cid)
    await holding?.close()
  }

  /** After a run (`busy`: another one runs or starts): a partial share stays loaded, any other holding is closed. */
  async settle (cid: string, busy: () => boolean): Promise<void> {
    const holding = this.loaded.get(cid)
    if (holding === undefined || busy()) return
    const record = await this.c.records.getDownload(cid).catch(() => undefined)
    if (record?.state === 'partial') { holding.record = record; return }
    if (busy() || this.loaded.get(cid) !== holding) return
    await this.drop(cid)
  }

  /** Partial shares at rest (`running`: those with a run now are left out), as `ls` lists shares. */
  partialShares (running: (cid: string) => boolean): ShareInfo[] {
    const out: ShareInfo[] = []
    for (const h of this.loaded.values()) {
      if (h.record.state !== 'partial' || running(h.record.cid)) continue
      const { record, layout } = h
      out.push({
        ...toShareInfo({ cid: record.cid, name: record.name, kind: record.kind, path: record.out ?? record.partPath, size: layout.totalSize, files: layout.manifest.files.length, chunks: layout.chunkCount, origin: 'fetched', sharedAt: record.startedAt, stale: false, stamps: FileStamps.sized(0) }),
        partial: true,
        held: h.heldBytes()
      })
    }
    return out
  }

  async close (): Promise<void> {
    await Promise.allSettled([...this.loaded.values()].map(async h => { await h.close() }))
  }

  /** The map itself, for the content reader. */
  get map (): Map<string, Holding> {
    return this.loaded
  }
}
