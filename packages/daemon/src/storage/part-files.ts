import { closeSync, mkdirSync, openSync, statSync, truncateSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import type { ChunkLayout, ChunkLocation, ManifestFile } from '@shoal/protocol'
import { SMALL_IO_BYTES } from '../constants.js'
import type { Logger } from '@libp2p/interface'
import { fsError } from '../errors.js'
import { FileHandleCache, chunkFileIn, filePathIn, readFully } from './file-handles.js'
import { alignedSlots, directIoAligned, openDirectForWrite } from './direct-io.js'
import { smallFileWriter } from './small-file-writer.js'
import type { SmallWrite } from './small-file-writer.js'
import { dropWritten, forEachSliced, readSmallSync } from './small-io.js'
import type { Uint8ArrayList } from 'uint8arraylist'

/** The filesystem of a part file has no direct I/O: write through the page cache. */
class DirectIoUnsupported extends Error {}

/** Empty files of a share created at once (each a small write), when a download starts. */
const EMPTY_FILES_AT_ONCE = 4096
const NO_BYTES = new Uint8Array(0)

/** Open handles kept at once while downloading a many-file share. */
const MAX_OPEN_PART_FILES = 64

/**
 * The bytes of a download in progress: `<out>.part` (a file, or a directory
 * tree for a directory share), written at chunk offsets and renamed to
 * `<out>` only when complete. A selective download creates only the files
 * it wants (others appear when a chunk of theirs is first written) and moves
 * each selected file to its place under `<out>` once complete (`place`);
 * such a file is read from there afterwards. Small chunks (at most
 * SMALL_IO_BYTES: a small file, a file's short last chunk) go through the
 * small-file writer's threads, which create their file.
 */
export class PartFiles {
  /** Where the part file or tree is now (`moveTo` changes it). */
  partPath: string
  private readonly layout: ChunkLayout
  private readonly handles = new FileHandleCache(MAX_OPEN_PART_FILES, openForWrite)
  /** Handles opened with O_DIRECT for whole, aligned chunks (see write). */
  private readonly directHandles = new FileHandleCache(MAX_OPEN_PART_FILES, async p => {
    const handle = await openDirectForWrite(p)
    if (handle === undefined) throw new DirectIoUnsupported(`no direct I/O for ${p}`)
    return handle
  })
  /** The empty files of the share being created (prepare starts it, finalize and close wait for it). */
  private emptyFiles: Promise<void> = Promise.resolve()
  /** Off once the filesystem refused direct I/O, or with SHOAL_DIRECT_IO=0. */
  private directIo = process.env.SHOAL_DIRECT_IO !== '0'
  /** Files known to exist in the part tree (made by prepare or a first write). */
  private readonly made = new Set<number>()
  /** Files being made: concurrent first writes of one file wait for one make. */
  private readonly making = new Map<number, Promise<void>>()
  /** Files moved to their place under the output: file index → path. */
  private readonly placed = new Map<number, string>()

  constructor (partPath: string, layout: ChunkLayout, private readonly log: Logger) {
    this.partPath = partPath
    this.layout = layout
  }

  /**
   * Create the part file or tree: every directory and every file larger
   * than SMALL_IO_BYTES at its full (sparse) size now, every empty file in
   * the background (finalize waits for them). A small file (one short chunk)
   * is created by its one write instead: a directory of many small files is
   * not walked twice. `resume`: keep the bytes already there (a file of the
   * wrong size is cut to its size). `files`: only these files (a selection),
   * and no empty directories. @default every file, and the empty directories
   */
  async prepare (resume: boolean, files: ReadonlySet<number> | 'all' = 'all'): Promise<void> {
    const { manifest } = this.layout
    const wanted = (i: number): boolean => !this.placed.has(i) && (files === 'all' || files.has(i))
    const indexes = manifest.files.map((_, i) => i).filter(wanted)
    smallFileWriter.warm(smallWritesOf(this.layout, indexes))
    try {
      if (!resume) await fs.rm(this.partPath, { recursive: true, force: true })
      if (manifest.kind === 'dir') {
        // each directory once: the empty ones and every wanted file's parent
        const dirs = new Set<string>([this.partPath])
        if (files === 'all') for (const dir of manifest.dirs) dirs.add(this.pathOf(dir))
        for (const i of indexes) dirs.add(path.dirname(this.pathOf((manifest.files[i] as ManifestFile).path)))
        await forEachSliced(dirs, dir => { mkdirSync(dir, { recursive: true }) })
      } else {
        await fs.mkdir(path.dirname(this.partPath), { recursive: true })
      }
      if (resume) {
        await forEachSliced(indexes, i => {
          const file = manifest.files[i] as ManifestFile
          if (file.size <= SMALL_IO_BYTES) fitSync(this.pathOf(file.path), file.size)
        })
      } else {
        // empty files are created like small ones, on the writer's threads,
        // while the download runs (finalize waits for them)
        this.emptyFiles = this.createEmpty(indexes)
        this.emptyFiles.catch(() => {}) // seen by finalize
      }
      for (const i of indexes) {
        const file = manifest.files[i] as ManifestFile
        if (file.size > SMALL_IO_BYTES) await this.make(i, file.path, file.size)
      }
    } catch (err) {
      throw fsError(err, 'cannot prepare download', this.partPath)
    }
  }

  /** Create file `index` in the part tree at its full (sparse) size, unless it is there. */
  private async make (index: number, rel: string, size: number): Promise<void> {
    const filePath = this.pathOf(rel)
    await fs.mkdir(path.dirname(filePath), { recursive: true })
    const handle = await openForWrite(filePath)
    try {
      const st = await handle.stat()
      if (st.size !== size) await handle.truncate(size)
    } finally {
      await handle.close()
    }
    this.made.add(index)
  }

  /**
   * Make file `index` in the part tree unless it is there (or placed): a
   * reader opening a file of a root being fetched for it has it made before
   * the first chunk arrives; concurrent calls share one make.
   */
  async ensureFile (index: number): Promise<void> {
    if (this.made.has(index) || this.placed.has(index)) return
    const file = this.layout.manifest.files[index]
    if (file === undefined) return
    let making = this.making.get(index)
    if (making === undefined) {
      making = this.make(index, file.path, file.size).finally(() => { this.making.delete(index) })
      this.making.set(index, making)
    }
    try {
      await making
    } catch (err) {
      throw fsError(err, 'cannot write', this.pathOf(file.path))
    }
  }

  /** True when file `index` has been moved to its place under the output. */
  isPlaced (index: number): boolean {
    return this.placed.has(index)
  }

  /** Record that file `index` already sits at `at` (found there on resume). */
  markPlaced (index: number, at: string): void {
    this.placed.set(index, at)
  }

  /**
   * Move complete file `index` from the part tree to `at` (its place under
   * the output); an existing file there is replaced only with `force`. An
   * empty file is created there.
   */
  async place (index: number, at: string, force: boolean): Promise<void> {
    const file = this.layout.manifest.files[index]
    if (file === undefined || this.placed.has(index)) return
    const from = this.pathOf(file.path)
    try {
      if (file.size === 0) await this.emptyFiles // made in the background: never left behind in the part tree
      await fs.mkdir(path.dirname(at), { recursive: true })
      if (await exists(at)) {
        if (!force) throw new ShoalError(ErrorCode.PATH_EXISTS, `${at} appeared while downloading; the file is kept at ${from}`)
        await fs.rm(at, { recursive: true, force: true })
      }
      if (file.size === 0 && !(await exists(from))) await fs.writeFile(at, '')
      else await fs.rename(from, at)
    } catch (err) {
      throw fsError(err, 'cannot move a downloaded file into place at', at)
    }
    this.placed.set(index, at)
  }

  /** Remove the part tree's empty directories, and the tree itself when nothing is left in it (a selection placed). */
  async prune (): Promise<void> {
    if (this.layout.manifest.kind !== 'dir') return
    const prune = async (dir: string): Promise<boolean> => {
      let entries
      try { entries = await fs.readdir(dir, { withFileTypes: true }) } catch { return false }
      let empty = true
      for (const e of entries) {
        if (!e.isDirectory() || !(await prune(path.join(dir, e.name)))) empty = false
      }
      if (empty) await fs.rmdir(dir).catch(() => { empty = false })
      return empty
    }
    await prune(this.partPath)
  }

  /** Move the part file or tree to `to` (open handles stay valid: they follow the inode). */
  async moveTo (to: string): Promise<void> {
    if (to === this.partPath) return
    try {
      await fs.mkdir(path.dirname(to), { recursive: true })
      if (await exists(this.partPath)) await fs.rename(this.partPath, to)
    } catch (err) {
      throw fsError(err, 'cannot move the download to', to)
    }
    this.partPath = to
  }

  /**
   * Write several chunks (a pack, say): the small ones as one batch of the
   * small-file writer (one promise for them all), the others each as `write`
   * does. Rejects with the first failure once all are done.
   */
  async writeChunks (chunks: Array<{ index: number, data: Uint8Array | Uint8ArrayList }>): Promise<void> {
    const small: SmallWrite[] = []
    const others: Array<Promise<void>> = []
    for (const { index, data } of chunks) {
      const { loc, filePath } = chunkFileIn(this.layout, this.partPath, index)
      if (loc.length <= SMALL_IO_BYTES) { small.push({ path: filePath, position: loc.offset, data }); this.made.add(loc.fileIndex) } else others.push(this.write(index, data))
    }
    const results = await Promise.allSettled([smallFileWriter.writeAll(small), ...others])
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  /**
   * Write chunk bytes at their place. A chunk of at most SMALL_IO_BYTES (a
   * small file, or a file's short last chunk) goes to the small-file writer's
   * worker threads, which create its file (small-file-writer.ts). A whole chunk at an aligned offset and
   * of an aligned length (every chunk but a file's last) is copied into an
   * aligned buffer and written with O_DIRECT, past the page cache: on these
   * VMs filling new page-cache pages cost 1.2-2 CPU-s per GiB in the kernel,
   * O_DIRECT 0.07 (bench/RESULTS.md). Anything else, or a filesystem without
   * direct I/O, is written through the page cache as the pieces it arrived in.
   */
  async write (index: number, data: Uint8Array | Uint8ArrayList): Promise<void> {
    const { loc, filePath } = chunkFileIn(this.layout, this.partPath, index)
    if (loc.length <= SMALL_IO_BYTES) {
      await smallFileWriter.write(filePath, loc.offset, data) // creates the file
      this.made.add(loc.fileIndex)
      return
    }
    if (!this.made.has(loc.fileIndex)) await this.ensureFile(loc.fileIndex)
    if (this.directIo && data.byteLength === loc.length && directIoAligned(loc.offset, loc.length)) {
      const slot = alignedSlots.take(loc.length)
      if (slot !== undefined) {
        try {
          copyInto(slot.buffer, data)
          if (await this.writeDirect(loc.fileIndex, filePath, loc.offset, slot.buffer)) return
        } finally {
          slot.release()
        }
      }
    }
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

  /** Write an aligned buffer with O_DIRECT; false (and direct I/O off from now on) when the filesystem refuses it. */
  private async writeDirect (fileIndex: number, filePath: string, offset: number, buffer: Buffer): Promise<boolean> {
    try {
      await this.directHandles.use(fileIndex, filePath, async handle => {
        for (let done = 0; done < buffer.byteLength;) {
          const { bytesWritten } = await handle.write(buffer, done, buffer.byteLength - done, offset + done)
          done += bytesWritten
        }
      })
      return true
    } catch (err) {
      if (err instanceof DirectIoUnsupported || (err as NodeJS.ErrnoException).code === 'EINVAL') {
        this.log('direct I/O unavailable for %s, writing through the page cache: %s', filePath, (err as Error).message)
        this.directIo = false
        return false
      }
      throw fsError(err, 'cannot write', filePath)
    }
  }

  /** Read chunk bytes back (to serve them to other peers while downloading, or to re-verify them on resume). */
  async read (index: number): Promise<Uint8Array> {
    const loc = this.layout.locate(index)
    const buffer = Buffer.allocUnsafeSlow(loc.length) // filled by the read: no zeroing
    await this.readInto(loc, buffer)
    return buffer
  }

  /** Read the chunk at `loc` into `target`: small ones synchronously, others through the handle cache. */
  async readInto (loc: ChunkLocation, target: Uint8Array): Promise<void> {
    const file = this.layout.manifest.files[loc.fileIndex]
    if (file === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'layout and manifest disagree')
    const filePath = this.placed.get(loc.fileIndex) ?? this.pathOf(file.path)
    try {
      if (loc.length <= SMALL_IO_BYTES) readSmallSync(filePath, target, loc.length, loc.offset)
      else await this.handles.use(loc.fileIndex, filePath, async handle => { await readFully(handle, target, loc.length, loc.offset, filePath) })
    } catch (err) {
      throw fsError(err, 'cannot read', filePath)
    }
  }

  /**
   * Close and rename `<out>.part` to `out` (replacing it when `force`); when
   * some files were already placed under `out` (a selective fetch before),
   * move the others there one by one. Not fsynced: every chunk was verified
   * before it was written, and whatever serves the file later verifies each
   * chunk again before it leaves.
   */
  async finalize (out: string, force: boolean): Promise<void> {
    try {
      await this.emptyFiles
    } catch (err) {
      throw fsError(err, 'cannot create the empty files of', this.partPath)
    }
    await this.close()
    if (this.placed.size > 0) {
      const { files, dirs } = this.layout.manifest
      for (let i = 0; i < files.length; i++) await this.place(i, filePathIn(this.layout, out, (files[i] as ManifestFile).path), force)
      for (const dir of dirs) await fs.mkdir(filePathIn(this.layout, out, dir), { recursive: true })
      await fs.rm(this.partPath, { recursive: true, force: true })
      return
    }
    try {
      if (force) await fs.rm(out, { recursive: true, force: true })
      else if (await exists(out)) throw new ShoalError(ErrorCode.PATH_EXISTS, `${out} appeared while downloading; the download is kept at ${this.partPath}`)
      await fs.rename(this.partPath, out)
    } catch (err) {
      throw fsError(err, 'cannot move download into place at', out)
    }
  }

  async close (): Promise<void> {
    await this.emptyFiles.catch(() => {})
    await this.directHandles.close()
    await this.handles.close()
  }

  /** Create the empty files among `indexes`, on the small-file writer's threads, EMPTY_FILES_AT_ONCE at a time. */
  private async createEmpty (indexes: number[]): Promise<void> {
    let writes: SmallWrite[] = []
    for (const i of indexes) {
      const file = this.layout.manifest.files[i] as ManifestFile
      if (file.size !== 0) continue
      this.made.add(i)
      writes.push({ path: this.pathOf(file.path), position: 0, data: NO_BYTES })
      if (writes.length >= EMPTY_FILES_AT_ONCE) {
        await smallFileWriter.writeAll(writes)
        writes = []
      }
    }
    await smallFileWriter.writeAll(writes)
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

/** Copy `data` (one buffer or a list of pieces) to the start of `target`. */
/** How many of the chunks of files `indexes` are small (written by the small-file writer): empty files count one. */
function smallWritesOf (layout: ChunkLayout, indexes: number[]): number {
  const { chunkSize, files } = layout.manifest
  let count = 0
  for (const i of indexes) {
    const { size } = files[i] as ManifestFile
    if (chunkSize <= SMALL_IO_BYTES) count += Math.max(1, Math.ceil(size / chunkSize))
    else if (size === 0 || (size % chunkSize !== 0 && size % chunkSize <= SMALL_IO_BYTES)) count++ // empty, or its short last chunk
  }
  return count
}

function copyInto (target: Uint8Array, data: Uint8Array | Uint8ArrayList): void {
  if (data instanceof Uint8Array) { target.set(data); return }
  let at = 0
  for (const piece of data) { target.set(piece, at); at += piece.byteLength }
}

/** A file kept on resume: created if missing and empty in the manifest, cut to `size` if larger (a small file's write covers all of it). */
function fitSync (filePath: string, size: number): void {
  let st
  try {
    st = statSync(filePath)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    if (size === 0) closeSync(openSync(filePath, 'w'))
    return
  }
  if (st.size > size) truncateSync(filePath, size)
}
