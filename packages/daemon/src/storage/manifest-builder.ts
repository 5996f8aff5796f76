import { createHash } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import {
  CHUNK_HASH_LENGTH, DEFAULT_CHUNK_SIZE, ErrorCode, MANIFEST_VERSION, MAX_MANIFEST_BYTES, MAX_MANIFEST_ENTRIES, ShoalError,
  chunkCountOf, encodedManifestSize, normalizeManifest, validateRelativePath
} from '@shoal/protocol'
import type { Manifest, ManifestFile, SkippedEntry } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import { FileStamps } from './file-stamps.js'
import type { FileStamp } from './file-stamps.js'
import { fsError } from '../errors.js'
import { readFully } from './file-handles.js'
import { sha256 } from './chunk-hash.js'
import { yieldToEventLoop } from './small-io.js'
import { SMALL_IO_BYTES, SMALL_IO_SLICE_MS } from '../constants.js'

/** The hashes of every empty file. */
const NO_HASHES = new Uint8Array(0)

/**
 * Hashes of small files, cut from shared 64 KiB blocks: a `Uint8Array` of its
 * own per file cost ~350 bytes of heap (the view, its buffer and the buffer's
 * store), a view of a shared block ~100. 200,000 files: ~25 MB less.
 */
class HashSlab {
  private block = new Uint8Array(0)
  private used = 0

  take (length: number): Uint8Array {
    if (this.used + length > this.block.byteLength) {
      this.block = new Uint8Array(Math.max(HASH_SLAB_BYTES, length))
      this.used = 0
    }
    const out = this.block.subarray(this.used, this.used + length)
    this.used += length
    return out
  }
}

const HASH_SLAB_BYTES = 64 * 1024

/** A walk lets the event loop run after stating this many files. */
const WALK_SLICE_FILES = 1024

export interface BuildProgress {
  hashedBytes: number
  totalBytes: number
  files: number
}

export interface BuildOptions {
  /** Where to say what was skipped. */
  log?: Logger
  chunkSize?: number
  signal?: AbortSignal
  onProgress?: (progress: BuildProgress) => void
}

export interface BuiltManifest {
  manifest: Manifest
  /** Absolute path of the shared file or directory. */
  root: string
  name: string
  /** Stamps in manifest file order. */
  stamps: FileStamps
  /** Entries left out (symlinks, sockets, unusable names), sorted by path. */
  skipped: SkippedEntry[]
}

/** A file found by the walk: its path in the share (`''` for a single file), size and mtime then. */
interface FoundFile { path: string, size: number, mtimeMs: number }

/**
 * Hash a file or directory tree into a manifest, streaming each file through
 * one reusable buffer (memory stays at one chunk whatever the size).
 */
export async function buildManifest (inputPath: string, options: BuildOptions = {}): Promise<BuiltManifest> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
  const root = path.resolve(inputPath)
  let st
  try {
    st = await fs.stat(root)
  } catch (err) {
    throw fsError(err, 'cannot share', root)
  }
  const name = path.basename(root)
  const skipped: SkippedEntry[] = []
  let found: FoundFile[]
  let dirs: string[] = []
  let kind: 'file' | 'dir'
  if (st.isFile()) {
    kind = 'file'
    found = [{ path: '', size: st.size, mtimeMs: st.mtimeMs }]
  } else if (st.isDirectory()) {
    kind = 'dir'
    found = []
    const emptyDirs: string[] = []
    await walk(root, '', { files: found, emptyDirs, skipped, log: options.log, signal: options.signal })
    dirs = emptyDirs
  } else {
    throw new ShoalError(ErrorCode.INVALID_PATH, `cannot share ${root}: not a regular file or directory`)
  }

  const totalBytes = found.reduce((n, f) => n + f.size, 0)
  const progress: BuildProgress = { hashedBytes: 0, totalBytes, files: found.length }
  const buffer = Buffer.allocUnsafe(chunkSize)
  const slab = new HashSlab()
  const files: ManifestFile[] = []
  const stamps = FileStamps.sized(found.length)
  found.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  checkLimits(root, { version: MANIFEST_VERSION, kind, chunkSize, dirs, files: found })
  skipped.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  const onBytes = (n: number): void => {
    progress.hashedBytes += n
    options.onProgress?.(progress)
  }
  let sliceStart = performance.now()
  for (const file of found) {
    options.signal?.throwIfAborted()
    // small files synchronously (small-io.ts), in slices between turns of the event loop
    const abs = file.path === '' ? root : path.join(root, file.path)
    const { hashes, stamp } = (file.size <= SMALL_IO_BYTES ? hashSmallFileSync(abs, chunkSize, buffer, slab, onBytes) : undefined) ??
      await hashFile(abs, chunkSize, buffer, onBytes, options.signal)
    files.push({ path: file.path, size: stamp.size, hashes })
    stamps.set(files.length - 1, stamp.size, stamp.mtimeMs)
    if (performance.now() - sliceStart >= SMALL_IO_SLICE_MS) {
      await yieldToEventLoop()
      sliceStart = performance.now()
    }
  }
  const manifest = normalizeManifest({ version: MANIFEST_VERSION, kind, chunkSize, files, dirs })
  return { manifest, root, name, stamps, skipped }
}

/** What a walk collects, and how. */
interface Walk {
  files: FoundFile[]
  emptyDirs: string[]
  skipped: SkippedEntry[]
  log: Logger | undefined
  signal: AbortSignal | undefined
}

async function walk (abs: string, rel: string, w: Walk): Promise<void> {
  const { files, emptyDirs, skipped, signal } = w
  signal?.throwIfAborted()
  let entries
  try {
    entries = await fs.readdir(abs, { withFileTypes: true })
  } catch (err) {
    throw fsError(err, 'cannot read directory', abs)
  }
  for (const entry of entries) {
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`
    const childAbs = path.join(abs, entry.name)
    try {
      validateRelativePath(childRel)
    } catch {
      w.log?.('skipping %s: a manifest cannot hold its name', childAbs)
      skipped.push({ path: childRel, reason: 'name' })
      continue
    }
    if (entry.isDirectory()) {
      const before = files.length + emptyDirs.length
      await walk(childAbs, childRel, w)
      if (files.length + emptyDirs.length === before) emptyDirs.push(childRel)
    } else if (entry.isFile()) {
      let st
      try {
        // one stat per file: synchronous, a thread-pool round trip costs more than the call (small-io.ts)
        st = statSync(childAbs)
      } catch (err) {
        throw fsError(err, 'cannot read', childAbs)
      }
      files.push({ path: childRel, size: st.size, mtimeMs: st.mtimeMs })
      if (files.length % WALK_SLICE_FILES === 0) await yieldToEventLoop()
    } else {
      w.log?.('skipping %s: not a regular file or directory', childAbs)
      skipped.push({ path: childRel, reason: entry.isSymbolicLink() ? 'symlink' : 'special' })
    }
  }
}

/** Limits known once the walk is done, before any file is hashed: a share that cannot fit in a manifest fails now, not after hours of hashing. */
function checkLimits (root: string, m: { version: number, kind: 'file' | 'dir', chunkSize: number, dirs: string[], files: FoundFile[] }): void {
  const entries = m.files.length + m.dirs.length
  if (entries > MAX_MANIFEST_ENTRIES) {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `cannot share ${root}: ${entries} files and empty folders, more than the ${MAX_MANIFEST_ENTRIES} entries a manifest may hold; share its folders separately`)
  }
  const bytes = encodedManifestSize(m, f => chunkCountOf(f.size, m.chunkSize) * CHUNK_HASH_LENGTH)
  if (bytes > MAX_MANIFEST_BYTES) {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `cannot share ${root}: its manifest would be ${bytes} bytes (${m.files.length} files), more than the ${MAX_MANIFEST_BYTES} limit; share its folders separately`)
  }
}

/**
 * hashFile for a file of at most SMALL_IO_BYTES (one chunk at most), with
 * synchronous calls: open, stat, read, stat again (it must not have changed
 * while being read), close. Undefined when it has grown larger since the
 * walk: then it is hashed like any other file.
 */
function hashSmallFileSync (file: string, chunkSize: number, buffer: Buffer, slab: HashSlab, onBytes: (n: number) => void): { hashes: Uint8Array, stamp: FileStamp } | undefined {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw fsError(err, 'cannot read', file)
  }
  try {
    const before = fstatSync(fd)
    if (before.size > SMALL_IO_BYTES || before.size > chunkSize) return undefined
    const count = chunkCountOf(before.size, chunkSize)
    // (an empty file's hashes are empty: one shared instance, a share may hold many)
    const hashes = count === 0 ? NO_HASHES : slab.take(count * CHUNK_HASH_LENGTH)
    let done = 0
    while (done < before.size) {
      const n = readSync(fd, buffer, done, before.size - done, done)
      if (n === 0) throw new ShoalError(ErrorCode.IO_ERROR, `${file} is shorter than its size (changed while it was being hashed?)`)
      done += n
    }
    if (before.size > 0) hashes.set(sha256(buffer.subarray(0, before.size)))
    const after = fstatSync(fd)
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new ShoalError(ErrorCode.IO_ERROR, `${file} changed while it was being hashed; try again when it is no longer being written`)
    }
    onBytes(before.size)
    return { hashes, stamp: { size: before.size, mtimeMs: before.mtimeMs } }
  } catch (err) {
    throw fsError(err, 'cannot read', file)
  } finally {
    closeSync(fd)
  }
}

async function hashFile (file: string, chunkSize: number, buffer: Buffer, onBytes: (n: number) => void, signal?: AbortSignal): Promise<{ hashes: Uint8Array, stamp: FileStamp }> {
  let handle
  try {
    handle = await fs.open(file, 'r')
  } catch (err) {
    throw fsError(err, 'cannot read', file)
  }
  try {
    const before = await handle.stat()
    const count = chunkCountOf(before.size, chunkSize)
    const hashes = count === 0 ? NO_HASHES : new Uint8Array(count * CHUNK_HASH_LENGTH)
    for (let i = 0; i < count; i++) {
      signal?.throwIfAborted()
      const offset = i * chunkSize
      const length = Math.min(chunkSize, before.size - offset)
      await readFully(handle, buffer, length, offset, file)
      hashes.set(createHash('sha256').update(buffer.subarray(0, length)).digest(), i * CHUNK_HASH_LENGTH)
      onBytes(length)
    }
    const after = await handle.stat()
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new ShoalError(ErrorCode.IO_ERROR, `${file} changed while it was being hashed; try again when it is no longer being written`)
    }
    return { hashes, stamp: { size: before.size, mtimeMs: before.mtimeMs } }
  } finally {
    await handle.close()
  }
}
