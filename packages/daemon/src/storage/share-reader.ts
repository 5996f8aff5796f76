import { ErrorCode, ShoalError, chunkCountOf } from '@shoal/protocol'
import type { ChunkLayout } from '@shoal/protocol'
import type { ChunkSource } from './chunk-source.js'

/** One file of a share, read as verified chunks. */
export interface ShareFile extends AsyncIterable<Uint8Array> {
  /** The file's path inside the share ('' for a file share). */
  readonly path: string
  /** Its size in bytes. */
  readonly size: number
}

/**
 * The file `path` names in the share `source` serves, chunk by chunk, each
 * verified against its hash as it is read (never the whole file in memory).
 * `stillServed` is asked before every chunk: a share unshared or gone stale
 * mid-read ends the read with NOT_FOUND.
 */
export function readShareFile (source: ChunkSource, path: string | undefined, stillServed: () => boolean): ShareFile {
  const id = source.cid
  const { fileIndex, first, count } = fileOf(source.layout, id, path)
  const file = source.layout.manifest.files[fileIndex] as { path: string, size: number }
  return {
    path: file.path,
    size: file.size,
    async * [Symbol.asyncIterator] () {
      for (let index = first; index < first + count; index++) {
        if (!stillServed()) throw new ShoalError(ErrorCode.NOT_FOUND, `${id} stopped being shared while it was read`)
        yield await source.readChunk(index) // verified against its hash
      }
    }
  }
}

/** The file `path` names in a share, and its chunk range; INVALID_PATH when there is none. */
export function fileOf (layout: ChunkLayout, cid: string, path: string | undefined): { fileIndex: number, first: number, count: number } {
  const { kind, files, dirs, chunkSize } = layout.manifest
  const given = path ?? ''
  let fileIndex: number
  if (kind === 'file') {
    if (given !== '') throw new ShoalError(ErrorCode.INVALID_PATH, `${cid} is a single file, not a directory: omit the path`)
    fileIndex = 0
  } else {
    const rel = given.replace(/^(\.\/)+/, '').replace(/\/+$/, '')
    if (rel === '') throw new ShoalError(ErrorCode.INVALID_PATH, `${cid} is a directory of ${files.length} file(s): name the file to print${files[0] !== undefined ? `, e.g. ${files[0].path}` : ''}`)
    fileIndex = files.findIndex(f => f.path === rel)
    if (fileIndex < 0) {
      const isDir = dirs.includes(rel) || files.some(f => f.path.startsWith(rel + '/'))
      throw new ShoalError(ErrorCode.INVALID_PATH, isDir ? `"${rel}" is a directory in ${cid}: name a file in it` : `no file "${rel.slice(0, 200)}" in ${cid}`)
    }
  }
  let first = 0
  for (let i = 0; i < fileIndex; i++) first += chunkCountOf(files[i]?.size ?? 0, chunkSize)
  return { fileIndex, first, count: chunkCountOf(files[fileIndex]?.size ?? 0, chunkSize) }
}

