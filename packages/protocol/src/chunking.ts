import { CHUNK_HASH_LENGTH } from './constants.js'
import { ErrorCode, ShoalError } from './errors.js'
import type { Manifest } from './manifest.js'

/**
 * How many chunks a file of `size` bytes has (0 for an empty file).
 *
 * @example
 * ```ts
 * chunkCountOf(3 * 1024 * 1024 + 1, DEFAULT_CHUNK_SIZE) // 4
 * chunkCountOf(0, DEFAULT_CHUNK_SIZE)                   // 0
 * ```
 */
export function chunkCountOf (size: number, chunkSize: number): number {
  return size === 0 ? 0 : Math.ceil(size / chunkSize)
}

/** A run of global chunk indexes: {@link ChunkLayout.fileRange}. */
export interface ChunkRange {
  /** The first index. */
  first: number
  /** How many indexes. */
  count: number
}

/** Where one chunk lives. */
export interface ChunkLocation {
  /** Global chunk index across the whole share. */
  index: number
  /** Index into `manifest.files`. */
  fileIndex: number
  /** Byte offset inside that file. */
  offset: number
  /** Length in bytes (the last chunk of a file may be short). */
  length: number
}

/**
 * The chunk layout of a manifest: chunks are numbered globally, file after
 * file in manifest order; each file's last chunk may be short.
 *
 * @example
 * ```ts
 * const layout = new ChunkLayout(manifest)
 * const { fileIndex, offset, length } = layout.locate(7)
 * const ok = sha256(data).every((b, i) => b === layout.hashOf(7)[i])
 * ```
 */
export class ChunkLayout {
  /** The manifest laid out. */
  readonly manifest: Manifest
  /** Chunks in all files together. */
  readonly chunkCount: number
  /** Bytes in all files together. */
  readonly totalSize: number
  /** First global chunk index of each file. */
  private readonly firstChunk: number[]

  constructor (manifest: Manifest) {
    this.manifest = manifest
    this.firstChunk = []
    let count = 0
    let total = 0
    for (const file of manifest.files) {
      this.firstChunk.push(count)
      count += chunkCountOf(file.size, manifest.chunkSize)
      total += file.size
    }
    this.chunkCount = count
    this.totalSize = total
  }

  /** Location of chunk `index`; throws PROTOCOL_ERROR when out of range. */
  locate (index: number): ChunkLocation {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.chunkCount) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `chunk index ${index} out of range (0..${this.chunkCount - 1})`)
    }
    // binary search for the last file whose first chunk <= index
    let lo = 0
    let hi = this.firstChunk.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if ((this.firstChunk[mid] as number) <= index) lo = mid
      else hi = mid - 1
    }
    // the last file starting at or before `index` holds it: an empty file
    // shares its first index with the next file, so it is never the last one
    const fileIndex = lo
    const file = this.manifest.files[fileIndex]
    if (file === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'chunk layout is inconsistent')
    const local = index - (this.firstChunk[fileIndex] as number)
    const offset = local * this.manifest.chunkSize
    return { index, fileIndex, offset, length: Math.min(this.manifest.chunkSize, file.size - offset) }
  }

  /** The global chunk indexes of file `fileIndex`: `first` … `first + count − 1` (count 0 for an empty file). */
  fileRange (fileIndex: number): ChunkRange {
    const file = this.manifest.files[fileIndex]
    if (file === undefined) throw new ShoalError(ErrorCode.INTERNAL, `no file ${fileIndex} in the manifest`)
    return { first: this.firstChunk[fileIndex] as number, count: chunkCountOf(file.size, this.manifest.chunkSize) }
  }

  /** Length in bytes of chunk `index` (only a file's last chunk may be shorter than the chunk size). */
  lengthOf (index: number): number {
    return this.locate(index).length
  }

  /**
   * Locations of chunks `first` .. `first + count - 1`, in order: one
   * binary search, then a walk through the files. PROTOCOL_ERROR when any
   * is out of range.
   */
  locateRange (first: number, count: number): ChunkLocation[] {
    if (!Number.isSafeInteger(count) || count < 0 || first + count > this.chunkCount) {
      throw new ShoalError(ErrorCode.PROTOCOL_ERROR, `chunks ${first}+${count} out of range (0..${this.chunkCount - 1})`)
    }
    const out: ChunkLocation[] = []
    if (count === 0) return out
    let loc = this.locate(first)
    const { chunkSize, files } = this.manifest
    out.push(loc)
    for (let index = first + 1; index < first + count; index++) {
      let fileIndex = loc.fileIndex
      let offset = loc.offset + chunkSize
      // past this file's end: the next file with bytes (empty files own no chunk)
      while (offset >= (files[fileIndex] as Manifest['files'][number]).size) { fileIndex++; offset = 0 }
      const size = (files[fileIndex] as Manifest['files'][number]).size
      loc = { index, fileIndex, offset, length: Math.min(chunkSize, size - offset) }
      out.push(loc)
    }
    return out
  }

  /** Expected SHA-256 of chunk `index`. */
  hashOf (index: number): Uint8Array {
    return this.hashAt(this.locate(index))
  }

  /** Expected SHA-256 of the chunk at `loc` (from {@link locate} or {@link locateRange}). */
  hashAt (loc: ChunkLocation): Uint8Array {
    const file = this.manifest.files[loc.fileIndex] as Manifest['files'][number]
    const local = loc.offset / this.manifest.chunkSize
    return file.hashes.subarray(local * CHUNK_HASH_LENGTH, (local + 1) * CHUNK_HASH_LENGTH)
  }
}
