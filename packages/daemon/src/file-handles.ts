import type fs from 'node:fs/promises'

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
