import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import {
  CHUNK_HASH_LENGTH, MANIFEST_VERSION, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES,
  MAX_MANIFEST_ENTRIES, MIN_CHUNK_SIZE
} from './constants.js'
import { chunkCountOf } from './chunking.js'
import { contentIdOf } from './content-id.js'
import { ErrorCode, ShoalError } from './errors.js'
import { ancestorsOf, comparePaths, validateRelativePath } from './paths.js'

/** One file in a manifest. */
export interface ManifestFile {
  /** Relative POSIX path inside the share; `''` only for a single-file share. */
  path: string
  /** Size in bytes. */
  size: number
  /** SHA-256 of each chunk, concatenated (32 bytes per chunk). */
  hashes: Uint8Array
}

/**
 * What a share contains. A single file has `kind: 'file'` and one entry with
 * path `''`; a directory lists its files and its empty directories.
 * The top-level name is *not* part of the manifest: the same bytes always
 * have the same content id whatever they are called.
 */
export interface Manifest {
  /** Format version: {@link MANIFEST_VERSION}. */
  version: number
  /** A single file or a directory tree. */
  kind: 'file' | 'dir'
  /** Bytes per chunk (the last chunk of each file may be short): a power of two from {@link MIN_CHUNK_SIZE} to {@link MAX_CHUNK_SIZE}. */
  chunkSize: number
  /** Files, sorted by path. */
  files: ManifestFile[]
  /** Empty directories (no files below them), sorted. */
  dirs: string[]
}

/**
 * Put files and dirs in canonical order (callers building manifests use this).
 *
 * @example
 * ```ts
 * const manifest = normalizeManifest({ version: MANIFEST_VERSION, kind: 'dir', chunkSize, files, dirs })
 * ```
 */
export function normalizeManifest (manifest: Manifest): Manifest {
  return {
    version: manifest.version,
    kind: manifest.kind,
    chunkSize: manifest.chunkSize,
    files: [...manifest.files].sort((a, b) => comparePaths(a.path, b.path)),
    dirs: [...manifest.dirs].sort(comparePaths)
  }
}

/**
 * Check every rule a manifest must follow; throws INVALID_MANIFEST with the
 * reason. Applied to every manifest we build and every manifest a peer sends.
 *
 * @example
 * ```ts
 * validateManifest({ version: MANIFEST_VERSION, kind: 'file', chunkSize: 1000, files, dirs: [] })
 * // throws ShoalError INVALID_MANIFEST: chunk size 1000 is not a power of two ...
 * ```
 */
export function validateManifest (manifest: Manifest): void {
  const fail = (why: string): never => {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `invalid manifest: ${why}`)
  }
  if (manifest.version !== MANIFEST_VERSION) fail(`unsupported version ${String(manifest.version)}`)
  const { chunkSize } = manifest
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE || (chunkSize & (chunkSize - 1)) !== 0) {
    fail(`chunk size ${String(chunkSize)} is not a power of two between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE}`)
  }
  if (!Array.isArray(manifest.files) || !Array.isArray(manifest.dirs)) fail('files and dirs must be lists')
  if (manifest.files.length + manifest.dirs.length > MAX_MANIFEST_ENTRIES) fail(`more than ${MAX_MANIFEST_ENTRIES} entries`)

  if (manifest.kind === 'file') {
    if (manifest.files.length !== 1 || manifest.dirs.length !== 0) fail('a file manifest holds exactly one file')
    const file = manifest.files[0]
    if (file === undefined || file.path !== '') fail('the file of a file manifest must have an empty path')
  } else if (manifest.kind === 'dir') {
    for (const file of manifest.files) validateRelativePath(file.path)
    for (const dir of manifest.dirs) validateRelativePath(dir)
  } else {
    fail(`unknown kind ${JSON.stringify(manifest.kind)}`)
  }

  for (const file of manifest.files) {
    if (!Number.isSafeInteger(file.size) || file.size < 0) fail(`size of ${JSON.stringify(file.path)} is not a non-negative integer`)
    if (!(file.hashes instanceof Uint8Array)) fail(`hashes of ${JSON.stringify(file.path)} are not bytes`)
    const expected = chunkCountOf(file.size, chunkSize) * CHUNK_HASH_LENGTH
    if (file.hashes.byteLength !== expected) fail(`${JSON.stringify(file.path)} has ${file.hashes.byteLength} hash bytes, expected ${expected}`)
  }

  if (manifest.kind === 'dir') {
    checkSortedUnique(manifest.files.map(f => f.path), 'file', fail)
    checkSortedUnique(manifest.dirs, 'directory', fail)
    const filePaths = new Set(manifest.files.map(f => f.path))
    for (const dir of manifest.dirs) {
      if (filePaths.has(dir)) fail(`${JSON.stringify(dir)} is both a file and a directory`)
    }
    // dirs lists only empty leaf directories: one tree, one encoding, one id
    const dirPaths = new Set(manifest.dirs)
    for (const path of [...filePaths, ...manifest.dirs]) {
      for (const ancestor of ancestorsOf(path)) {
        if (filePaths.has(ancestor)) fail(`${JSON.stringify(ancestor)} is a file but also a directory of ${JSON.stringify(path)}`)
        if (dirPaths.has(ancestor)) fail(`${JSON.stringify(ancestor)} is listed as an empty directory but holds ${JSON.stringify(path)}`)
      }
    }
  }
}

function checkSortedUnique (paths: string[], what: string, fail: (why: string) => never): void {
  for (let i = 1; i < paths.length; i++) {
    const prev = paths[i - 1] as string
    const cur = paths[i] as string
    if (prev === cur) fail(`duplicate ${what} path ${JSON.stringify(cur)}`)
    if (comparePaths(prev, cur) > 0) fail(`${what} paths are not in canonical order`)
  }
}

/**
 * Canonical bytes of a manifest (dag-cbor). Validates first (INVALID_MANIFEST),
 * and refuses more than {@link MAX_MANIFEST_BYTES}.
 *
 * @example
 * ```ts
 * const bytes = encodeManifest(normalizeManifest({ version: MANIFEST_VERSION, kind: 'dir', chunkSize: DEFAULT_CHUNK_SIZE, files, dirs: [] }))
 * ```
 */
export function encodeManifest (manifest: Manifest): Uint8Array {
  validateManifest(manifest)
  const bytes = dagCbor.encode({
    v: manifest.version,
    kind: manifest.kind,
    chunkSize: manifest.chunkSize,
    files: manifest.files.map(f => ({ path: f.path, size: f.size, hashes: f.hashes })),
    dirs: manifest.dirs
  })
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `manifest is ${bytes.byteLength} bytes, more than the ${MAX_MANIFEST_BYTES} limit`)
  }
  return bytes
}

/**
 * Decode and validate manifest bytes from anyone: INVALID_MANIFEST unless
 * they are a valid manifest in canonical form (re-encoding gives the same
 * bytes), so one tree always has one content id.
 *
 * @example
 * ```ts
 * if (await manifestMatches(cid, bytes)) {
 *   const manifest = decodeManifest(bytes)
 *   console.log(manifest.kind, totalSizeOf(manifest))
 * }
 * ```
 */
export function decodeManifest (bytes: Uint8Array): Manifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `manifest is ${bytes.byteLength} bytes, more than the ${MAX_MANIFEST_BYTES} limit`)
  }
  let raw: unknown
  try {
    raw = dagCbor.decode(bytes)
  } catch (err) {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, 'manifest is not valid dag-cbor', { cause: err })
  }
  const manifest = fromRaw(raw)
  validateManifest(manifest)
  // canonical form only: re-encoding must give the same bytes
  const again = dagCbor.encode({
    v: manifest.version, kind: manifest.kind, chunkSize: manifest.chunkSize,
    files: manifest.files.map(f => ({ path: f.path, size: f.size, hashes: f.hashes })),
    dirs: manifest.dirs
  })
  if (!equalBytes(again, bytes)) {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, 'manifest is not in canonical form')
  }
  return manifest
}

/**
 * Encode a manifest and compute its content id.
 *
 * @example
 * ```ts
 * const { cid, bytes } = await sealManifest(manifest)
 * ```
 */
export async function sealManifest (manifest: Manifest): Promise<{
  /** Its content id. */
  cid: CID
  /** Its canonical bytes. */
  bytes: Uint8Array
}> {
  const bytes = encodeManifest(manifest)
  return { cid: await contentIdOf(bytes), bytes }
}

/**
 * Total bytes of all files.
 *
 * @example
 * ```ts
 * totalSizeOf(decodeManifest(bytes))
 * ```
 */
export function totalSizeOf (manifest: Manifest): number {
  let total = 0
  for (const f of manifest.files) total += f.size
  return total
}

function fromRaw (raw: unknown): Manifest {
  const fail = (why: string): never => {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `invalid manifest: ${why}`)
  }
  if (!isRecord(raw)) fail('not a map')
  const obj = raw as Record<string, unknown>
  const allowed = new Set(['v', 'kind', 'chunkSize', 'files', 'dirs'])
  for (const key of Object.keys(obj)) if (!allowed.has(key)) fail(`unknown field ${JSON.stringify(key)}`)
  const { v, kind, chunkSize, files, dirs } = obj
  if (typeof v !== 'number') fail('version is not a number')
  if (kind !== 'file' && kind !== 'dir') fail('kind is not "file" or "dir"')
  if (typeof chunkSize !== 'number') fail('chunkSize is not a number')
  if (!Array.isArray(files)) fail('files is not a list')
  if (!Array.isArray(dirs)) fail('dirs is not a list')
  const outFiles: ManifestFile[] = (files as unknown[]).map((f): ManifestFile => {
    if (!isRecord(f)) fail('a file entry is not a map')
    const entry = f as Record<string, unknown>
    for (const key of Object.keys(entry)) if (key !== 'path' && key !== 'size' && key !== 'hashes') fail(`unknown file field ${JSON.stringify(key)}`)
    if (typeof entry.path !== 'string') fail('a file path is not a string')
    if (typeof entry.size !== 'number') fail('a file size is not a number')
    if (!(entry.hashes instanceof Uint8Array)) fail('file hashes are not bytes')
    return { path: entry.path as string, size: entry.size as number, hashes: entry.hashes as Uint8Array }
  })
  const outDirs = (dirs as unknown[]).map((d): string => {
    if (typeof d !== 'string') fail('a directory path is not a string')
    return d as string
  })
  return { version: v as number, kind: kind as 'file' | 'dir', chunkSize: chunkSize as number, files: outFiles, dirs: outDirs }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
