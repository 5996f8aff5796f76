/** Shared helpers for the @shoal/protocol tests (not a test file itself). */
import { expect } from 'vitest'
import * as dagCbor from '@ipld/dag-cbor'
import { CHUNK_HASH_LENGTH, MANIFEST_VERSION, MIN_CHUNK_SIZE, ShoalError, chunkCountOf } from '../src/index.js'
import type { ErrorCode, Manifest, ManifestFile } from '../src/index.js'

export const CHUNK = MIN_CHUNK_SIZE

/** Deterministic hash bytes for a file of `size` bytes: byte j of chunk i is (seed + i * 7 + j) & 0xff. */
export function hashesFor (size: number, seed = 0, chunkSize = CHUNK): Uint8Array {
  const n = chunkCountOf(size, chunkSize)
  const out = new Uint8Array(n * CHUNK_HASH_LENGTH)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < CHUNK_HASH_LENGTH; j++) out[i * CHUNK_HASH_LENGTH + j] = (seed + i * 7 + j) & 0xff
  }
  return out
}

export function file (path: string, size: number, seed = 0, chunkSize = CHUNK): ManifestFile {
  return { path, size, hashes: hashesFor(size, seed, chunkSize) }
}

/** A single-file manifest. */
export function fileManifest (size: number, seed = 0, chunkSize = CHUNK): Manifest {
  return { version: MANIFEST_VERSION, kind: 'file', chunkSize, files: [file('', size, seed, chunkSize)], dirs: [] }
}

/** A directory manifest exactly as given (no sorting). */
export function dirManifest (files: ManifestFile[], dirs: string[] = [], chunkSize = CHUNK): Manifest {
  return { version: MANIFEST_VERSION, kind: 'dir', chunkSize, files, dirs }
}

/** Encode a manifest-shaped object with dag-cbor directly, bypassing validation. */
export function rawEncodeManifest (m: Manifest, extra: Record<string, unknown> = {}): Uint8Array {
  return dagCbor.encode({
    v: m.version,
    kind: m.kind,
    chunkSize: m.chunkSize,
    files: m.files.map(f => ({ path: f.path, size: f.size, hashes: f.hashes })),
    dirs: m.dirs,
    ...extra
  })
}

export function concat (...parts: Array<Uint8Array | number[]>): Uint8Array {
  const arrays = parts.map(p => p instanceof Uint8Array ? p : Uint8Array.from(p))
  const out = new Uint8Array(arrays.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of arrays) { out.set(p, offset); offset += p.byteLength }
  return out
}

/** Unsigned LEB128 varint. */
export function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80) }
  out.push(n)
  return Uint8Array.from(out)
}

/** Run `fn`, expect it to throw a ShoalError with `code`; returns the error. */
export function expectShoalError (fn: () => unknown, code: ErrorCode): ShoalError {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(ShoalError)
  expect((thrown as ShoalError).code).toBe(code)
  return thrown as ShoalError
}

export async function expectShoalErrorAsync (fn: () => Promise<unknown>, code: ErrorCode): Promise<ShoalError> {
  let thrown: unknown
  try {
    await fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown, 'expected a rejection').toBeInstanceOf(ShoalError)
  expect((thrown as ShoalError).code).toBe(code)
  return thrown as ShoalError
}

/** Small deterministic PRNG (mulberry32) for reproducible "random" inputs. */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function randomBytes (rand: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(rand() * 256)
  return out
}

/** Compare byte contents regardless of Buffer vs Uint8Array. */
export function expectBytes (actual: Uint8Array, expected: Uint8Array): void {
  expect(Uint8Array.from(actual)).toEqual(Uint8Array.from(expected))
}
