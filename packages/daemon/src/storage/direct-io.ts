import { constants } from 'node:fs'
import fs from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import { MAX_CHUNK_SIZE } from '@shoal/protocol'

const log = logger('shoal:direct-io')

/** Offsets, lengths and buffer addresses of direct I/O are multiples of this. */
export const DIRECT_IO_ALIGN = 4096
/** Chunks written at once through direct I/O (each holds one aligned slot). */
const SLOT_COUNT = 8
const WASM_PAGE = 65536

/** The part of WebAssembly.Memory used here (the project's TS libs leave WebAssembly out). */
interface WasmMemory { readonly buffer: ArrayBuffer }
const { Memory: WasmMemoryClass } = (globalThis as unknown as { WebAssembly: { Memory: new (desc: { initial: number }) => WasmMemory } }).WebAssembly

/** One aligned buffer lent out by AlignedSlots; `release` returns it. */
export interface AlignedSlot {
  buffer: Buffer
  release(): void
}

/**
 * Page-aligned buffers for direct I/O. Node gives no control over a Buffer's
 * address, but a WebAssembly.Memory is page-aligned, so slots carved from it
 * at multiples of 64 KiB are too. Memory is reserved for SLOT_COUNT chunks of
 * MAX_CHUNK_SIZE; only the pages written to become resident.
 */
export class AlignedSlots {
  private memory?: WasmMemory
  /** The memory could not be had (V8 reserves gigabytes of address space for it: a `ulimit -v` refuses). */
  private unavailable = false
  private readonly free: number[] = []

  /** A slot of at least `length` bytes, or undefined when all are lent out or there is no aligned memory. */
  take (length: number): AlignedSlot | undefined {
    if (length > MAX_CHUNK_SIZE || this.unavailable) return undefined
    if (this.memory === undefined) {
      try {
        this.memory = new WasmMemoryClass({ initial: SLOT_COUNT * MAX_CHUNK_SIZE / WASM_PAGE })
      } catch (err) {
        log('no aligned memory for direct I/O, downloads write through the page cache: %e', err)
        this.unavailable = true
        return undefined
      }
      for (let i = SLOT_COUNT - 1; i >= 0; i--) this.free.push(i)
    }
    const slot = this.free.pop()
    if (slot === undefined) return undefined
    let released = false
    return {
      buffer: Buffer.from(this.memory.buffer, slot * MAX_CHUNK_SIZE, length),
      release: () => { if (!released) { released = true; this.free.push(slot) } }
    }
  }
}

/** The aligned slots every download in this process shares. */
export const alignedSlots = new AlignedSlots()

/** True when a write of `length` bytes at `offset` can go through direct I/O. */
export function directIoAligned (offset: number, length: number): boolean {
  return length > 0 && offset % DIRECT_IO_ALIGN === 0 && length % DIRECT_IO_ALIGN === 0
}

/**
 * Open an existing file for writing with O_DIRECT (Linux), bypassing the
 * page cache; undefined where the platform or filesystem has no direct I/O
 * (macOS; EINVAL from filesystems such as tmpfs before Linux 6.6), so the
 * caller writes through the page cache.
 */
export async function openDirectForWrite (filePath: string): Promise<fs.FileHandle | undefined> {
  const direct = (constants as { O_DIRECT?: number }).O_DIRECT
  if (direct === undefined || direct === 0) return undefined
  try {
    return await fs.open(filePath, constants.O_WRONLY | direct)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EINVAL' || code === 'EOPNOTSUPP' || code === 'ENOTSUP') return undefined
    throw err
  }
}
