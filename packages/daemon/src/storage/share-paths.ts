/** Which file of a share a path names (`cat`, the gateway), and where a download is saved. */
import path from 'node:path'
import { ErrorCode, ShoalError, chunkCountOf } from '@shoal/protocol'
import type { ChunkLayout } from '@shoal/protocol'

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

/** The output path: `out` as given, `out/<name>` for a trailing slash, `<cwd>/<name>` when not given. */
export function resolveOut (out: string | undefined, name: string, cwd = process.cwd()): string {
  if (out === undefined || out === '') return path.resolve(cwd, name)
  if (!path.isAbsolute(out)) throw new ShoalError(ErrorCode.INVALID_PATH, `output path must be absolute: ${out}`)
  // a trailing slash means "save into this directory"; anything else is the exact path
  if (out.endsWith('/') || out.endsWith(path.sep)) return path.join(out, name)
  return path.resolve(out)
}
