/** Size and modification time of a file when it was shared: a change to either marks the share stale. */
export interface FileStamp {
  size: number
  mtimeMs: number
}

/**
 * The stamps of a share's files, in manifest order, packed two numbers a
 * file (size, mtimeMs) in one Float64Array: an object a file was ~50 bytes
 * of heap (the object and a boxed mtime), 11 MB for 200,000 files held for
 * as long as the share is.
 */
export class FileStamps {
  private constructor (private readonly numbers: Float64Array) {}

  /** `count` stamps, all zero until {@link set}. */
  static sized (count: number): FileStamps {
    return new FileStamps(new Float64Array(count * 2))
  }

  static of (stamps: readonly FileStamp[]): FileStamps {
    const out = FileStamps.sized(stamps.length)
    stamps.forEach((s, i) => { out.set(i, s.size, s.mtimeMs) })
    return out
  }

  /** Read back {@link toBytes} (a trailing partial stamp is ignored). */
  static fromBytes (bytes: Uint8Array): FileStamps {
    const numbers = new Float64Array(Math.floor(bytes.byteLength / 16) * 2)
    new Uint8Array(numbers.buffer).set(bytes.subarray(0, numbers.byteLength))
    return new FileStamps(numbers)
  }

  get length (): number {
    return this.numbers.length / 2
  }

  set (index: number, size: number, mtimeMs: number): void {
    this.numbers[2 * index] = size
    this.numbers[2 * index + 1] = mtimeMs
  }

  /** The stamp of file `index` (a new object), or undefined past the end. */
  at (index: number): FileStamp | undefined {
    if (index < 0 || index >= this.length) return undefined
    return { size: this.numbers[2 * index] as number, mtimeMs: this.numbers[2 * index + 1] as number }
  }

  /** Little-endian float64 pairs, as a share record stores them. */
  toBytes (): Uint8Array {
    return new Uint8Array(this.numbers.buffer, this.numbers.byteOffset, this.numbers.byteLength)
  }
}
