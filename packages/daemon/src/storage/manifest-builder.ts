import { createHash } from 'node:crypto'
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
  for (const file of found) {
    options.signal?.throwIfAborted()
    const { hashes, stamp } = await hashFile(file, chunkSize, buffer, (n) => {
      progress.hashedBytes += n
      options.onProgress?.(progress)
    }, options.signal)
    files.push({ path: file.rel, size: stamp.size, hashes })
    stamps.push(stamp)
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
        st = await fs.stat(childAbs)
      } catch (err) {
        throw fsError(err, 'cannot read', childAbs)
      }
      files.push({ rel: childRel, abs: childAbs, size: st.size, mtimeMs: st.mtimeMs })
    } else {
      w.log?.('skipping %s: not a regular file or directory', childAbs)
      skipped.push({ path: childRel, reason: entry.isSymbolicLink() ? 'symlink' : 'special' })
    }
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
