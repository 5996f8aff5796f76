import type { Bitfield, ChunkLayout } from '@shoal/protocol'
import type { Demand } from './demand.js'

/** Which files a download fetches: every one, or those of its `--only` selection (file indexes). */
export type FileSelection = 'all' | ReadonlySet<number>

/** What a running download does with its picker when the chunks it wants change. */
export interface WantsBinding {
  picker: { reopen(index: number): void, completed(index: number): unknown }
  have: Bitfield
  /** Chunks being verified and written: neither reopened nor dropped. */
  writing: ReadonlySet<number>
  /** Something changed: schedule requests, and check whether the download is done. */
  changed: () => void
}

/**
 * The chunks one run of a download fetches: those of its selection (every
 * file, the `--only` files, or none for readers alone), plus what readers
 * of the root demand now (demand.ts), asked for first. A fetch run is done
 * when its selection is held; a reader run (no selection) when nothing is
 * demanded and no reader is attached. Chunks of other files are never
 * requested: the picker sees them as held until demanded (`reopen`), and
 * as held again when no longer demanded (`completed`).
 */
export class Wants {
  private readonly selected: (index: number) => boolean
  private binding?: WantsBinding
  private unlisten?: () => void

  /**
   * @param layout - the share's chunk layout
   * @param selection - the files fetched; `undefined` for a run that only serves readers
   * @param demand - what readers of the root demand, if any
   */
  constructor (private readonly layout: ChunkLayout, readonly selection: FileSelection | undefined, readonly demand: Demand | undefined) {
    if (selection === undefined) this.selected = () => false
    else if (selection === 'all') this.selected = () => true
    else {
      const chunks = new Uint8Array(layout.chunkCount)
      for (const f of selection) {
        const { first, count } = layout.fileRange(f)
        chunks.fill(1, first, first + count)
      }
      this.selected = i => chunks[i] === 1
    }
  }

  /** Wanted now: selected, or demanded by a reader. */
  has (index: number): boolean {
    return this.selected(index) || this.demand?.has(index) === true
  }

  /** What the picker treats as held: held, or not wanted. */
  pickerHave (have: Bitfield): { has(index: number): boolean } {
    return { has: i => have.has(i) || !this.has(i) }
  }

  /** Follow the demand from now on: newly demanded chunks are reopened in the picker, dropped ones set aside. */
  bind (binding: WantsBinding): void {
    this.binding = binding
    this.unlisten = this.demand?.listen((added, removed) => {
      const { picker, have, writing } = binding
      for (const i of added) if (!have.has(i) && !writing.has(i) && !this.selected(i)) picker.reopen(i)
      for (const i of removed) if (!have.has(i) && !writing.has(i) && !this.selected(i)) picker.completed(i)
      binding.changed()
    })
  }

  /** Stop following the demand (the run ended). */
  unbind (): void {
    this.unlisten?.()
    this.unlisten = undefined
    this.binding = undefined
  }

  /** True when some wanted chunk is not held yet. */
  missing (have: Bitfield): boolean {
    if ((this.demand?.size ?? 0) > 0) return true
    if (this.selection === undefined) return false
    if (this.selection === 'all') return !have.complete
    for (const f of this.selection) {
      const { first, count } = this.layout.fileRange(f)
      for (let i = first; i < first + count; i++) if (!have.has(i)) return true
    }
    return false
  }

  /** The run is done: its selection is held (a fetch), or nothing is demanded and no reader is attached (readers only). */
  complete (have: Bitfield): boolean {
    if (this.selection !== undefined) return !this.missingSelected(have)
    return !this.missing(have) && (this.demand?.readers ?? 0) === 0
  }

  private missingSelected (have: Bitfield): boolean {
    if (this.selection === 'all') return !have.complete
    if (this.selection === undefined) return false
    for (const f of this.selection) {
      const { first, count } = this.layout.fileRange(f)
      for (let i = first; i < first + count; i++) if (!have.has(i)) return true
    }
    return false
  }

  /** Bytes of the selection (the whole share for readers alone), and how many are held. */
  progress (have: Bitfield, receivedAll: number): { size: number, received: number } {
    if (this.selection === undefined || this.selection === 'all') return { size: this.layout.totalSize, received: receivedAll }
    let size = 0
    let received = 0
    for (const f of this.selection) {
      size += this.layout.manifest.files[f]?.size ?? 0
      const { first, count } = this.layout.fileRange(f)
      for (let i = first; i < first + count; i++) if (have.has(i)) received += this.layout.locate(i).length
    }
    return { size, received }
  }
}
