import fs from 'node:fs/promises'
import path from 'node:path'
import { Bitfield, ChunkLayout, decodeManifest, selectFiles } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import type { ChunkSource } from '../../storage/chunk-source.js'
import { filePathIn } from '../../storage/file-handles.js'
import { PartFiles, exists } from '../../storage/part-files.js'
import { PartialSource } from '../../storage/partial-source.js'
import type { DownloadRecord, Records } from '../../storage/records.js'
import type { FileSelection } from './wants.js'

/**
 * What this node holds of one root it does not hold completely, while
 * loaded: the download record, the verified chunks (bitfield), the part
 * files and the source that serves those chunks to peers. Download runs and
 * readers of the root share it; it stays loaded at rest for a `partial`
 * record (a completed selection, or chunks fetched for readers).
 */
export class Holding {
  record: DownloadRecord
  readonly layout: ChunkLayout
  readonly manifestBytes: Uint8Array
  readonly have: Bitfield
  readonly part: PartFiles
  readonly source: PartialSource
  /** The bitfield came from the records and was not re-hashed yet (a fetch re-hashes it before it completes). */
  unverified: boolean

  /** `layout`: `manifestBytes` decoded and laid out (one copy per root: a 200,000-file manifest decoded is ~60 MB of heap). */
  constructor (record: DownloadRecord, manifestBytes: Uint8Array, layout: ChunkLayout, have: Bitfield, part: PartFiles, finished: () => ChunkSource | undefined, unverified: boolean) {
    this.record = record
    this.manifestBytes = manifestBytes
    this.layout = layout
    this.have = have
    this.part = part
    this.unverified = unverified
    this.source = new PartialSource({ cid: record.cid, name: record.name, layout: this.layout, manifestBytes, have, part, finished })
  }

  /** The files its record selects: every one, or those its `--only` patterns match. */
  selection (): FileSelection {
    return selectionOf(this.layout, this.record.only)
  }

  /** Bytes held. */
  heldBytes (): number {
    let n = 0
    for (let i = 0; i < this.layout.chunkCount; i++) if (this.have.has(i)) n += this.layout.locate(i).length
    return n
  }

  /** True when every chunk of file `fileIndex` is held. */
  fileComplete (fileIndex: number): boolean {
    const { first, count } = this.layout.fileRange(fileIndex)
    for (let i = first; i < first + count; i++) if (!this.have.has(i)) return false
    return true
  }

  /** Where selected file `fileIndex` goes once complete (a selective fetch with an output). */
  placeOf (fileIndex: number): string | undefined {
    const out = this.record.out
    const file = this.layout.manifest.files[fileIndex]
    if (out === undefined || this.record.only === undefined || file === undefined) return undefined
    return filePathIn(this.layout, out, file.path)
  }

  /**
   * Move every selected file that is complete to its place under the output
   * (a selective fetch), and make the selected empty directories. Files that
   * are already there (moved before a restart) are taken as placed.
   */
  async placeComplete (): Promise<void> {
    const selection = this.selection()
    const out = this.record.out
    if (selection === 'all' || out === undefined) return
    for (const i of selection) {
      const at = this.placeOf(i)
      if (at === undefined || this.part.isPlaced(i) || !this.fileComplete(i)) continue
      const file = this.layout.manifest.files[i] as { path: string }
      if (!(await exists(filePathIn(this.layout, this.part.partPath, file.path))) && await exists(at) && this.layout.fileRange(i).count > 0) {
        this.part.markPlaced(i, at)
        continue
      }
      await this.part.place(i, at, this.record.force)
    }
    for (const dir of selectDirs(this.layout, this.record.only)) await makeDir(path.join(out, ...dir.split('/')))
  }

  async close (): Promise<void> {
    await this.source.close()
    await this.part.close()
  }
}

/** The files `only` selects in a layout (every file when absent). */
export function selectionOf (layout: ChunkLayout, only: string[] | undefined): FileSelection {
  if (only === undefined) return 'all'
  return new Set(selectFiles(layout.manifest.files, layout.manifest.dirs, only).files)
}

function selectDirs (layout: ChunkLayout, only: string[] | undefined): string[] {
  return only === undefined ? [] : selectFiles(layout.manifest.files, layout.manifest.dirs, only).dirs
}

async function makeDir (dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true })
}

/**
 * Load the holding of `record` from the records (its bitfield, if any and not
 * `fresh`) and its part files; `layout`: `manifestBytes` decoded, when the
 * caller has it.
 */
export async function loadHolding (records: Records, record: DownloadRecord, manifestBytes: Uint8Array, log: Logger, finished: () => ChunkSource | undefined, fresh = false, layout = new ChunkLayout(decodeManifest(manifestBytes))): Promise<Holding> {
  const bits = fresh ? undefined : await records.getBitfield(record.cid)
  const stored = bits !== undefined && bits.byteLength === Math.ceil(layout.chunkCount / 8)
  const have = stored ? new Bitfield(layout.chunkCount, bits) : new Bitfield(layout.chunkCount)
  const part = new PartFiles(record.partPath, layout, log)
  const holding = new Holding(record, manifestBytes, layout, have, part, finished, stored && have.count > 0)
  // selected files moved into place before a restart are read from there
  const selection = holding.selection()
  if (selection !== 'all') {
    for (const i of selection) {
      const at = holding.placeOf(i)
      if (at !== undefined && holding.fileComplete(i) && holding.layout.fileRange(i).count > 0 && !(await exists(filePathIn(layout, part.partPath, (layout.manifest.files[i] as { path: string }).path))) && await exists(at)) part.markPlaced(i, at)
    }
  }
  return holding
}
