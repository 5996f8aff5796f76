/**
 * The manifest's canonical dag-cbor encoding (docs/PROTOCOL.md 6.2), written
 * and read directly for this one schema: no token tree, no second encoding to
 * compare with, and a file's hashes read as a view of the bytes. A general
 * dag-cbor codec builds a token per item (a 200,000-file manifest is 1.4
 * million of them) and can only check canonical form by encoding again; for
 * large directories that cost seconds and hundreds of megabytes. The tests
 * hold this codec to @ipld/dag-cbor's bytes (manifest.test.ts, fuzz.test.ts).
 *
 * Canonical here: definite lengths, every integer and length in its shortest
 * form, map keys in dag-cbor order (by encoded length, then bytes), which for
 * this schema is `v, dirs, kind, files, chunkSize` and `path, size, hashes`,
 * text as valid UTF-8, integers at most 2^53 − 1, nothing after the map.
 */
import { ErrorCode, ShoalError } from './errors.js'
import type { Manifest, ManifestFile } from './manifest.js'
import { utf8Length } from './paths.js'

const MAJOR_UINT = 0
const MAJOR_BYTES = 2
const MAJOR_TEXT = 3
const MAJOR_ARRAY = 4
const MAJOR_MAP = 5

/** The hashes of every empty file. */
const NO_HASHES = new Uint8Array(0)

/** Text up to this long, all ASCII, is made into a string directly. */
const ASCII_FAST_PATH = 1024

const encoder = new TextEncoder()
// fatal: bytes that are not UTF-8 are refused; ignoreBOM: a leading U+FEFF is part of the text
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The map keys, each as its encoded text string. */
const KEY = {
  v: textBytes('v'),
  dirs: textBytes('dirs'),
  kind: textBytes('kind'),
  files: textBytes('files'),
  chunkSize: textBytes('chunkSize'),
  path: textBytes('path'),
  size: textBytes('size'),
  hashes: textBytes('hashes')
}

/** What the encoded length of a manifest entry depends on, before its hashes are known. */
export interface SizedEntry {
  /** The file's path inside the share. */
  path: string
  /** The file's size in bytes. */
  size: number
}

/**
 * The exact length of a manifest's canonical encoding, from its paths and
 * sizes and the length of each file's hashes (`hashBytes`): known before
 * any file is hashed.
 */
export function encodedManifestSize<F extends SizedEntry> (m: Pick<Manifest, 'version' | 'kind' | 'chunkSize' | 'dirs'> & { files: F[] }, hashBytes: (f: F) => number): number {
  let length = 1 + KEY.v.length + headLength(m.version) + KEY.dirs.length + headLength(m.dirs.length) +
    KEY.kind.length + textLength(m.kind) + KEY.files.length + headLength(m.files.length) +
    KEY.chunkSize.length + headLength(m.chunkSize)
  for (const dir of m.dirs) length += textLength(dir)
  for (const f of m.files) {
    const n = hashBytes(f)
    length += 1 + KEY.path.length + textLength(f.path) + KEY.size.length + headLength(f.size) + KEY.hashes.length + headLength(n) + n
  }
  return length
}

/** Canonical dag-cbor bytes of a manifest (which the caller has validated). */
export function encodeManifestCbor (m: Manifest): Uint8Array {
  // first the exact length, then one buffer written front to back
  const length = encodedManifestSize(m, f => f.hashes.byteLength)
  const out = new Writer(length)
  out.head(MAJOR_MAP, 5)
  out.raw(KEY.v); out.head(MAJOR_UINT, m.version)
  out.raw(KEY.dirs); out.head(MAJOR_ARRAY, m.dirs.length)
  for (const dir of m.dirs) out.text(dir)
  out.raw(KEY.kind); out.text(m.kind)
  out.raw(KEY.files); out.head(MAJOR_ARRAY, m.files.length)
  for (const f of m.files) {
    out.head(MAJOR_MAP, 3)
    out.raw(KEY.path); out.text(f.path)
    out.raw(KEY.size); out.head(MAJOR_UINT, f.size)
    out.raw(KEY.hashes); out.head(MAJOR_BYTES, f.hashes.byteLength); out.raw(f.hashes)
  }
  out.raw(KEY.chunkSize); out.head(MAJOR_UINT, m.chunkSize)
  if (out.at !== length) throw new ShoalError(ErrorCode.INTERNAL, `manifest encoding wrote ${out.at} of ${length} bytes`)
  return out.bytes
}

/**
 * Read canonical manifest bytes. INVALID_MANIFEST for anything else: not
 * this schema (a missing, extra or misplaced key, a wrong type), not in
 * canonical form, not UTF-8, a number past 2^53 − 1, or bytes left over.
 * The manifest's rules (validateManifest) are the caller's to check. Each
 * file's hashes are a view of `bytes`.
 */
export function decodeManifestCbor (bytes: Uint8Array): Manifest {
  const r = new Reader(bytes)
  r.expectHead(MAJOR_MAP, 5, 'the manifest is not a map of exactly v, dirs, kind, files and chunkSize (an unknown field, or one missing)')
  r.expectKey(KEY.v, 'v')
  const version = r.uint()
  r.expectKey(KEY.dirs, 'dirs')
  const dirCount = r.length(MAJOR_ARRAY, 'dirs is not a list')
  const dirs: string[] = []
  for (let i = 0; i < dirCount; i++) dirs.push(r.text('a directory path is not text'))
  r.expectKey(KEY.kind, 'kind')
  const kind = r.text('kind is not text')
  if (kind !== 'file' && kind !== 'dir') r.fail('kind is not "file" or "dir"')
  r.expectKey(KEY.files, 'files')
  const fileCount = r.length(MAJOR_ARRAY, 'files is not a list')
  const files: ManifestFile[] = []
  for (let i = 0; i < fileCount; i++) {
    r.expectHead(MAJOR_MAP, 3, 'a file entry is not a map of exactly path, size and hashes (an unknown field, or one missing)')
    r.expectKey(KEY.path, 'path')
    const path = r.text('a file path is not text')
    r.expectKey(KEY.size, 'size')
    const size = r.uint()
    r.expectKey(KEY.hashes, 'hashes')
    const hashes = r.byteString()
    // (an empty file's hashes: one shared instance, a directory may hold many)
    files.push({ path, size, hashes: hashes.byteLength === 0 ? NO_HASHES : hashes })
  }
  r.expectKey(KEY.chunkSize, 'chunkSize')
  const chunkSize = r.uint()
  if (r.at !== bytes.byteLength) r.fail('bytes after the manifest')
  return { version, kind: kind as Manifest['kind'], chunkSize, files, dirs }
}

/** Bytes of a head (major type and argument) for `n`. */
function headLength (n: number): number {
  return n < 24 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9
}

/** Bytes of a text string: head and UTF-8 (a lone surrogate as U+FFFD, as TextEncoder writes it). */
function textLength (text: string): number {
  const n = utf8Length(text)
  return headLength(n) + n
}

/** A short ASCII text string (a map key), encoded. */
function textBytes (text: string): Uint8Array {
  return Uint8Array.of((MAJOR_TEXT << 5) | text.length, ...Array.from(text, c => c.charCodeAt(0)))
}

class Writer {
  readonly bytes: Uint8Array
  at = 0
  constructor (length: number) {
    this.bytes = new Uint8Array(length)
  }

  head (major: number, n: number): void {
    const b = this.bytes
    const top = major << 5
    if (n < 24) {
      b[this.at++] = top | n
    } else if (n <= 0xff) {
      b[this.at++] = top | 24; b[this.at++] = n
    } else if (n <= 0xffff) {
      b[this.at++] = top | 25; b[this.at++] = n >>> 8; b[this.at++] = n & 0xff
    } else if (n <= 0xffffffff) {
      b[this.at++] = top | 26
      b[this.at++] = n >>> 24; b[this.at++] = (n >>> 16) & 0xff; b[this.at++] = (n >>> 8) & 0xff; b[this.at++] = n & 0xff
    } else {
      b[this.at++] = top | 27
      const hi = Math.floor(n / 0x100000000)
      const lo = n >>> 0
      for (const word of [hi, lo]) { b[this.at++] = word >>> 24; b[this.at++] = (word >>> 16) & 0xff; b[this.at++] = (word >>> 8) & 0xff; b[this.at++] = word & 0xff }
    }
  }

  text (text: string): void {
    const n = utf8Length(text)
    this.head(MAJOR_TEXT, n)
    if (n === text.length) {
      // ASCII: one byte per character
      for (let i = 0; i < n; i++) this.bytes[this.at + i] = text.charCodeAt(i)
      this.at += n
    } else {
      this.at += encoder.encodeInto(text, this.bytes.subarray(this.at)).written
    }
  }

  raw (bytes: Uint8Array): void {
    this.bytes.set(bytes, this.at)
    this.at += bytes.byteLength
  }
}

class Reader {
  at = 0
  constructor (private readonly bytes: Uint8Array) {}

  fail (why: string): never {
    throw new ShoalError(ErrorCode.INVALID_MANIFEST, `invalid manifest: ${why} (at byte ${this.at})`)
  }

  /** A head of `major`: its argument, which must be in shortest form and at most 2^53 − 1. */
  private head (major: number, what: string): number {
    if (this.at >= this.bytes.byteLength) this.fail('the bytes end too early')
    const first = this.bytes[this.at++] as number
    if (first >> 5 !== major) this.fail(what)
    const info = first & 0x1f
    if (info < 24) return info
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
    if (size === 0) this.fail(`${what} (an indefinite length or reserved value)`)
    if (this.at + size > this.bytes.byteLength) this.fail('the bytes end too early')
    let n = 0
    for (let i = 0; i < size; i++) n = n * 256 + (this.bytes[this.at++] as number)
    if (!Number.isSafeInteger(n)) this.fail('a number larger than 2^53 - 1')
    // the shortest form only: one head, one encoding
    if (n < (size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000)) this.fail('not in canonical form (a number not in its shortest encoding)')
    return n
  }

  uint (): number {
    return this.head(MAJOR_UINT, 'not an unsigned integer')
  }

  length (major: number, what: string): number {
    return this.head(major, what)
  }

  expectHead (major: number, n: number, what: string): void {
    if (this.head(major, what) !== n) this.fail(what)
  }

  /** The next bytes must be `key` (a text string); keys in any other order or set are not this schema. */
  expectKey (key: Uint8Array, name: string): void {
    const end = this.at + key.byteLength
    if (end > this.bytes.byteLength) this.fail('the bytes end too early')
    for (let i = 0; i < key.byteLength; i++) {
      if (this.bytes[this.at + i] !== key[i]) this.fail(`expected the key ${JSON.stringify(name)} here (keys must be exactly the schema's, in canonical order)`)
    }
    this.at = end
  }

  private span (major: number, what: string): Uint8Array {
    const n = this.head(major, what)
    if (this.at + n > this.bytes.byteLength) this.fail('the bytes end too early')
    const view = this.bytes.subarray(this.at, this.at + n)
    this.at += n
    return view
  }

  byteString (): Uint8Array {
    return this.span(MAJOR_BYTES, 'file hashes are not bytes')
  }

  text (what: string): string {
    const bytes = this.span(MAJOR_TEXT, what)
    // (most paths are short and ASCII: no decoder call)
    let ascii = bytes.byteLength <= ASCII_FAST_PATH
    for (let i = 0; i < bytes.byteLength && ascii; i++) ascii = (bytes[i] as number) < 0x80
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[])
    try {
      return decoder.decode(bytes)
    } catch {
      return this.fail('text that is not UTF-8')
    }
  }
}
