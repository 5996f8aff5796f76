import type { CID } from 'multiformats/cid'
import {
  CHUNK_HASH_LENGTH, MANIFEST_VERSION, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES,
  MAX_MANIFEST_ENTRIES, MIN_CHUNK_SIZE
} from './constants.js'
import { chunkCountOf } from './chunking.js'
import { contentIdOf } from './content-id.js'
import { ErrorCode, ShoalError } from './errors.js'
import { decodeManifestCbor, encodeManifestCbor } from './manifest-cbor.js'
import { comparePaths, validateRelativePath } from './paths.js'

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

  if (manifest.kind === 'dir') checkTree(manifest, fail)
}

/**
 * The tree rules of a directory manifest, in time linear in its entries (a
 * manifest may list a million): paths sorted and unique, no path both a file
 * and a directory, no file and no listed (empty) directory above another path.
 */
function checkTree (manifest: Manifest, fail: (why: string) => never): void {
  const { files, dirs } = manifest
  checkSortedUnique(files.length, i => (files[i] as ManifestFile).path, 'file', fail)
  checkSortedUnique(dirs.length, i => dirs[i] as string, 'directory', fail)
  const listedDirs = new Set(dirs)
  for (const file of files) {
    if (listedDirs.has(file.path)) fail(`${JSON.stringify(file.path)} is both a file and a directory`)
  }
  // every directory some path lies in (its proper ancestors): usually few
  const holding = new Set<string>()
  // (sorted paths come folder by folder: one in the folder of the one before adds nothing new)
  let folder = ''
  const addAncestors = (path: string): void => {
    const last = path.lastIndexOf('/')
    if (last < 0 || (last === folder.length && path.startsWith(folder))) return
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) holding.add(path.slice(0, slash))
    folder = path.slice(0, last)
  }
  for (const file of files) addAncestors(file.path)
  folder = ''
  for (const dir of dirs) addAncestors(dir)
  const below = (ancestor: string): string => {
    const under = (p: string): boolean => p.startsWith(ancestor + '/')
    return files.find(f => under(f.path))?.path ?? dirs.find(under) ?? ''
  }
  for (const file of files) {
    if (holding.has(file.path)) fail(`${JSON.stringify(file.path)} is a file but also a directory of ${JSON.stringify(below(file.path))}`)
  }
  // dirs lists only empty leaf directories: one tree, one encoding, one id
  for (const dir of dirs) {
    if (holding.has(dir)) fail(`${JSON.stringify(dir)} is listed as an empty directory but holds ${JSON.stringify(below(dir))}`)
  }
}

function checkSortedUnique (count: number, pathAt: (i: number) => string, what: string, fail: (why: string) => never): void {
  for (let i = 1; i < count; i++) {
    const prev = pathAt(i - 1)
    const cur = pathAt(i)
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
  const bytes = encodeManifestCbor(manifest)
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
  // the schema's canonical form only (manifest-cbor.ts): one tree, one encoding, one content id
  const manifest = decodeManifestCbor(bytes)
  validateManifest(manifest)
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
