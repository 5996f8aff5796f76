import type fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, ChunkLocation } from '@shoal/protocol'
import { fsError } from '../errors.js'

interface Entry { handle: Promise<fs.FileHandle>, users: number }

/**
 * Open file handles kept for reuse, keyed by file index: at most `max` stay
 * open; the oldest idle one is closed to make room (one in use never is).
 */
export class FileHandleCache {
  private readonly max: number
  private readonly openFile: (path: string) => Promise<fs.FileHandle>
  private readonly entries = new Map<number, Entry>()

  constructor (max: number, openFile: (path: string) => Promise<fs.FileHandle>) {
    this.max = max
    this.openFile = openFile
  }

  /** Run `fn` with the handle of file `key` (opened from `path` if needed). Open errors are thrown as they are. */
  async use<T> (key: number, path: string, fn: (handle: fs.FileHandle) => Promise<T>): Promise<T> {
    let entry = this.entries.get(key)
    if (entry === undefined) {
      // registered before any await: a concurrent use() of the same file shares it
      entry = { handle: this.openFile(path), users: 1 }
      this.entries.set(key, entry)
      void this.evictIdle()
    } else {
      entry.users++
    }
    try {
      let handle: fs.FileHandle
      try {
        handle = await entry.handle
      } catch (err) {
        if (this.entries.get(key) === entry) this.entries.delete(key)
        throw err
      }
      return await fn(handle)
    } finally {
      entry.users--
    }
  }

  async close (): Promise<void> {
    const entries = [...this.entries.values()]
    this.entries.clear()
    await Promise.allSettled(entries.map(async e => { await (await e.handle).close() }))
  }

  private async evictIdle (): Promise<void> {
    for (const [key, entry] of this.entries) {
      if (this.entries.size < this.max) return
      if (entry.users > 0) continue
      this.entries.delete(key)
      await entry.handle.then(async h => { await h.close() }, () => {})
    }
  }
}

/** The path of a share's file `rel` under `root` (a single-file share is `root` itself). */
export function filePathIn (layout: ChunkLayout, root: string, rel: string): string {
  // (manifest paths are POSIX, with no '.', '..' or empty segment: join normalizes the separators)
  return layout.manifest.kind === 'file' ? root : path.join(root, rel)
}

/** Where chunk `index` lives under `root`: its location and its file's path. */
export function chunkFileIn (layout: ChunkLayout, root: string, index: number): { loc: ChunkLocation, filePath: string } {
  const loc = layout.locate(index)
  const file = layout.manifest.files[loc.fileIndex]
  if (file === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'layout and manifest disagree')
  return { loc, filePath: filePathIn(layout, root, file.path) }
}

/** Read exactly `length` bytes at `offset` into `buffer`, or throw. */
export async function readFully (handle: fs.FileHandle, buffer: Uint8Array, length: number, offset: number, what: string): Promise<void> {
  let done = 0
  while (done < length) {
    let bytesRead: number
    try {
      ({ bytesRead } = await handle.read(buffer, done, length - done, offset + done))
    } catch (err) {
      throw fsError(err, 'cannot read', what)
    }
    if (bytesRead === 0) {
      throw new ShoalError(ErrorCode.IO_ERROR, `${what} is shorter than when it was shared (changed on disk?)`)
    }
    done += bytesRead
  }
}
