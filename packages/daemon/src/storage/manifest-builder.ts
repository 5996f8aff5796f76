import { createHash } from 'node:crypto'
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import {
  CHUNK_HASH_LENGTH, DEFAULT_CHUNK_SIZE, ErrorCode, MANIFEST_VERSION, ShoalError,
  chunkCountOf, normalizeManifest, validateRelativePath
} from '@shoal/protocol'
import type { Manifest, ManifestFile, SkippedEntry } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import type { FileStamp } from './records.js'
import { fsError } from '../errors.js'
import { readFully } from './file-handles.js'
import { yieldToEventLoop } from './small-io.js'
import { SMALL_IO_BYTES, SMALL_IO_SLICE_MS } from '../constants.js'

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
  stamps: FileStamp[]
  /** Entries left out (symlinks, sockets, unusable names), sorted by path. */
  skipped: SkippedEntry[]
}

interface FoundFile { rel: string, abs: string, size: number, mtimeMs: number }

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
    found = [{ rel: '', abs: root, size: st.size, mtimeMs: st.mtimeMs }]
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
  const files: ManifestFile[] = []
  const stamps: FileStamp[] = []
  found.sort((a, b) => a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0)
  skipped.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  const onBytes = (n: number): void => {
    progress.hashedBytes += n
    options.onProgress?.(progress)
  }
  let sliceStart = performance.now()
  for (const file of found) {
    options.signal?.throwIfAborted()
    // small files synchronously (small-io.ts), in slices between turns of the event loop
    const { hashes, stamp } = (file.size <= SMALL_IO_BYTES ? hashSmallFileSync(file, chunkSize, buffer, onBytes) : undefined) ??
      await hashFile(file, chunkSize, buffer, onBytes, options.signal)
    files.push({ path: file.rel, size: stamp.size, hashes })
    stamps.push(stamp)
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
      files.push({ rel: childRel, abs: childAbs, size: st.size, mtimeMs: st.mtimeMs })
      if (files.length % WALK_SLICE_FILES === 0) await yieldToEventLoop()
    } else {
      w.log?.('skipping %s: not a regular file or directory', childAbs)
      skipped.push({ path: childRel, reason: entry.isSymbolicLink() ? 'symlink' : 'special' })
    }
  }
}

/**
 * hashFile for a file of at most SMALL_IO_BYTES (one chunk at most), with
 * synchronous calls: open, stat, read, stat again (it must not have changed
 * while being read), close. Undefined when it has grown larger since the
 * walk: then it is hashed like any other file.
 */
function hashSmallFileSync (file: FoundFile, chunkSize: number, buffer: Buffer, onBytes: (n: number) => void): { hashes: Uint8Array, stamp: FileStamp } | undefined {
  let fd: number
  try {
    fd = openSync(file.abs, 'r')
  } catch (err) {
    throw fsError(err, 'cannot read', file.abs)
  }
  try {
    const before = fstatSync(fd)
    if (before.size > SMALL_IO_BYTES || before.size > chunkSize) return undefined
    const hashes = new Uint8Array(chunkCountOf(before.size, chunkSize) * CHUNK_HASH_LENGTH)
    let done = 0
    while (done < before.size) {
      const n = readSync(fd, buffer, done, before.size - done, done)
      if (n === 0) throw new ShoalError(ErrorCode.IO_ERROR, `${file.abs} is shorter than its size (changed while it was being hashed?)`)
      done += n
    }
    if (before.size > 0) hashes.set(createHash('sha256').update(buffer.subarray(0, before.size)).digest())
    const after = fstatSync(fd)
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new ShoalError(ErrorCode.IO_ERROR, `${file.abs} changed while it was being hashed; try again when it is no longer being written`)
    }
    onBytes(before.size)
    return { hashes, stamp: { size: before.size, mtimeMs: before.mtimeMs } }
  } catch (err) {
    throw fsError(err, 'cannot read', file.abs)
  } finally {
    closeSync(fd)
  }
}

async function hashFile (file: FoundFile, chunkSize: number, buffer: Buffer, onBytes: (n: number) => void, signal?: AbortSignal): Promise<{ hashes: Uint8Array, stamp: FileStamp }> {
  let handle
  try {
    handle = await fs.open(file.abs, 'r')
  } catch (err) {
    throw fsError(err, 'cannot read', file.abs)
  }
  try {
    const before = await handle.stat()
    const count = chunkCountOf(before.size, chunkSize)
    const hashes = new Uint8Array(count * CHUNK_HASH_LENGTH)
    for (let i = 0; i < count; i++) {
      signal?.throwIfAborted()
      const offset = i * chunkSize
      const length = Math.min(chunkSize, before.size - offset)
      await readFully(handle, buffer, length, offset, file.abs)
      hashes.set(createHash('sha256').update(buffer.subarray(0, length)).digest(), i * CHUNK_HASH_LENGTH)
      onBytes(length)
    }
    const after = await handle.stat()
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new ShoalError(ErrorCode.IO_ERROR, `${file.abs} changed while it was being hashed; try again when it is no longer being written`)
    }
    return { hashes, stamp: { size: before.size, mtimeMs: before.mtimeMs } }
  } finally {
    await handle.close()
  }
}
