import fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout } from '@shoal/protocol'
import { fsError } from './fs-errors.js'
import { FileHandleCache, chunkFileIn, filePathIn, readFully } from './file-handles.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** Open handles kept at once while downloading a many-file share. */
const MAX_OPEN_PART_FILES = 64

/**
 * The bytes of a download in progress: `<out>.part` (a file, or a directory
 * tree for a directory share), written at chunk offsets and renamed to
 * `<out>` only when complete.
 */
export class PartFiles {
  readonly partPath: string
  private readonly layout: ChunkLayout
  private readonly handles = new FileHandleCache(MAX_OPEN_PART_FILES, openForWrite)

  constructor (partPath: string, layout: ChunkLayout) {
    this.partPath = partPath
    this.layout = layout
  }

  /**
   * Create the part file or tree with every file at its full (sparse) size.
   * `resume`: keep the bytes already there.
   */
  async prepare (resume: boolean): Promise<void> {
    const { manifest } = this.layout
    try {
      if (!resume) await fs.rm(this.partPath, { recursive: true, force: true })
      if (manifest.kind === 'dir') {
        await fs.mkdir(this.partPath, { recursive: true })
        for (const dir of manifest.dirs) await fs.mkdir(this.pathOf(dir), { recursive: true })
      } else {
        await fs.mkdir(path.dirname(this.partPath), { recursive: true })
      }
      for (let i = 0; i < manifest.files.length; i++) {
        const file = manifest.files[i]
        if (file === undefined) continue
        const filePath = this.pathOf(file.path)
        await fs.mkdir(path.dirname(filePath), { recursive: true })
        const handle = await openForWrite(filePath)
        try {
          const st = await handle.stat()
          if (st.size !== file.size) await handle.truncate(file.size)
        } finally {
          await handle.close()
        }
      }
    } catch (err) {
      throw fsError(err, 'cannot prepare download', this.partPath)
    }
  }

  /** Write chunk bytes at their place (a list of pieces is written with writev, unjoined). */
  async write (index: number, data: Uint8Array | Uint8ArrayList): Promise<void> {
    const { loc, filePath } = chunkFileIn(this.layout, this.partPath, index)
    try {
      await this.handles.use(loc.fileIndex, filePath, async handle => {
        let pieces = data instanceof Uint8Array ? [data] : [...data]
        let position = loc.offset
        while (pieces.length > 0) {
          const { bytesWritten } = await handle.writev(pieces, position)
          position += bytesWritten
          pieces = dropWritten(pieces, bytesWritten)
        }
      })
    } catch (err) {
      throw fsError(err, 'cannot write', filePath)
    }
  }

  /** Read chunk bytes back (to serve them to other peers while downloading). */
  async read (index: number): Promise<Uint8Array> {
    const { loc, filePath } = chunkFileIn(this.layout, this.partPath, index)
    const buffer = Buffer.allocUnsafeSlow(loc.length) // filled by the read: no zeroing
    try {
      await this.handles.use(loc.fileIndex, filePath, async handle => { await readFully(handle, buffer, loc.length, loc.offset, filePath) })
    } catch (err) {
      throw fsError(err, 'cannot read', filePath)
    }
    return buffer
  }

  /**
   * Close and rename `<out>.part` to `out` (replacing it when `force`). Not
   * fsynced: every chunk was verified before it was written, and whatever
   * serves the file later verifies each chunk again before it leaves.
   */
  async finalize (out: string, force: boolean): Promise<void> {
    await this.close()
    try {
      if (force) await fs.rm(out, { recursive: true, force: true })
      else if (await exists(out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${out} appeared while downloading; the download is kept at ${this.partPath}`)
      await fs.rename(this.partPath, out)
    } catch (err) {
      throw fsError(err, 'cannot move download into place at', out)
    }
  }

  async close (): Promise<void> {
    await this.handles.close()
  }

  private pathOf (rel: string): string {
    return filePathIn(this.layout, this.partPath, rel)
  }
}

async function openForWrite (filePath: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(filePath, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return await fs.open(filePath, 'w+', 0o644)
  }
}

export async function exists (p: string): Promise<boolean> {
  try {
    await fs.lstat(p)
    return true
  } catch {
    return false
  }
}

/** What is left of `pieces` after the first `written` bytes went out. */
function dropWritten (pieces: Uint8Array[], written: number): Uint8Array[] {
  let left = written
  let i = 0
  while (i < pieces.length && left >= (pieces[i] as Uint8Array).byteLength) {
    left -= (pieces[i] as Uint8Array).byteLength
    i++
  }
  const rest = pieces.slice(i)
  if (left > 0 && rest.length > 0) rest[0] = (rest[0] as Uint8Array).subarray(left)
  return rest
}
