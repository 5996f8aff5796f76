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

  /** Expected SHA-256 of chunk `index`. */
  hashOf (index: number): Uint8Array {
    const loc = this.locate(index)
    const file = this.manifest.files[loc.fileIndex] as Manifest['files'][number]
    const local = loc.offset / this.manifest.chunkSize
    return file.hashes.subarray(local * CHUNK_HASH_LENGTH, (local + 1) * CHUNK_HASH_LENGTH)
  }
}
