/**
 * One verified block of a UnixFS DAG, decoded into what a fetch needs: the
 * file bytes it carries (and where they sit inside the block, so the block
 * can be served again from the written file), its children, and the names
 * of directory entries — each checked so no name can leave the output tree.
 * Anything that is not UnixFS a fetch can write (metadata nodes, unknown
 * codecs, sizes that disagree) is INVALID_DAG.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import { DAG_PB_CODE, ErrorCode, MAX_SEGMENT_BYTES, RAW_CODE, ShoalError } from '@shoal/protocol'

/** A child of a file node: the bytes it covers, relative to its parent's start. */
export interface FilePart {
  cid: CID
  /** Offset inside the parent's range. */
  offset: number
  length: number
}

/** A directory entry or HAMT link. */
export interface DirLink {
  cid: CID
  /** The entry's name; undefined for a link to a sub-shard of the same directory. */
  name?: string
}

/** What a decoded block is. */
export type UnixfsNode =
  /** File bytes: all of a raw block, or the data of a dag-pb node without links, at `[dataStart, dataStart + length)` in the block. */
  | { kind: 'data', dataStart: number, length: number, block: Uint8Array }
  /** A file node with children (and maybe bytes of its own first, at `dataStart`). */
  | { kind: 'file', size: number, own: number, dataStart: number, parts: FilePart[], block: Uint8Array }
  | { kind: 'dir', links: DirLink[], block: Uint8Array }
  | { kind: 'hamt', links: DirLink[], block: Uint8Array }
  | { kind: 'symlink', block: Uint8Array }

function invalid (cid: CID, why: string): ShoalError {
  return new ShoalError(ErrorCode.INVALID_DAG, `${cid.toString()} is not UnixFS Shoal can save: ${why}`)
}

/** Decode a block already verified against `cid`. */
export function decodeUnixfs (cid: CID, block: Uint8Array): UnixfsNode {
  if (cid.code === RAW_CODE) return { kind: 'data', dataStart: 0, length: block.byteLength, block }
  if (cid.code !== DAG_PB_CODE) throw invalid(cid, `codec 0x${cid.code.toString(16)}`)
  let node: dagPb.PBNode
  let unixfs: UnixFS
  try {
    node = dagPb.decode(block)
    if (node.Data === undefined) throw new Error('no Data')
    unixfs = UnixFS.unmarshal(node.Data)
  } catch (err) {
    throw invalid(cid, `undecodable dag-pb or UnixFS (${(err as Error).message})`)
  }
  switch (unixfs.type) {
    case 'raw':
    case 'file': {
      const data = unixfs.data ?? new Uint8Array(0)
      const dataStart = data.byteLength === 0 ? 0 : offsetIn(block, data)
      if (dataStart < 0) throw invalid(cid, 'its data is not inside the block')
      if (node.Links.length === 0) return { kind: 'data', dataStart, length: data.byteLength, block }
      if (unixfs.blockSizes.length !== node.Links.length) throw invalid(cid, `${node.Links.length} links but ${unixfs.blockSizes.length} block sizes`)
      const parts: FilePart[] = []
      let at = data.byteLength
      for (let i = 0; i < node.Links.length; i++) {
        const length = Number(unixfs.blockSizes[i])
        if (!Number.isSafeInteger(length) || length < 0) throw invalid(cid, 'a block size is out of range')
        parts.push({ cid: checkChild(cid, (node.Links[i] as dagPb.PBLink).Hash), offset: at, length })
        at += length
      }
      if (!Number.isSafeInteger(at)) throw invalid(cid, 'the file is too large')
      return { kind: 'file', size: at, own: data.byteLength, dataStart, parts, block }
    }
    case 'directory':
      return { kind: 'dir', links: node.Links.map(l => ({ cid: checkChild(cid, l.Hash), name: checkName(cid, l.Name ?? '') })), block }
    case 'hamt-sharded-directory': {
      const fanout = Number(unixfs.fanout ?? 0n)
      if (fanout <= 0 || fanout > 4096 || (fanout & (fanout - 1)) !== 0) throw invalid(cid, `HAMT fanout ${fanout}`)
      const width = (fanout - 1).toString(16).length
      return {
        kind: 'hamt',
        links: node.Links.map(l => {
          const label = l.Name ?? ''
          if (label.length < width) throw invalid(cid, `HAMT link ${JSON.stringify(label)} has no bucket prefix`)
          const name = label.slice(width)
          return name === '' ? { cid: checkChild(cid, l.Hash) } : { cid: checkChild(cid, l.Hash), name: checkName(cid, name) }
        }),
        block
      }
    }
    case 'symlink':
      return { kind: 'symlink', block }
    default:
      throw invalid(cid, `UnixFS type ${unixfs.type}`)
  }
}

function checkChild (parent: CID, child: CID): CID {
  if (child.code !== RAW_CODE && child.code !== DAG_PB_CODE) throw invalid(parent, `a link to codec 0x${child.code.toString(16)}`)
  if (child.multihash.code !== 0x12 || child.multihash.size !== 32) throw invalid(parent, 'a link with a hash other than sha2-256')
  return child
}

/** A directory entry name must be one path segment a manifest can hold: nothing may land outside the output. */
function checkName (dir: CID, name: string): string {
  const bytes = Buffer.byteLength(name)
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || bytes > MAX_SEGMENT_BYTES) {
    throw invalid(dir, `a directory entry named ${JSON.stringify(name.slice(0, 80))}`)
  }
  return name
}

/** Where `part` (a view decoded out of `block`) starts inside `block`, or -1. */
function offsetIn (block: Uint8Array, part: Uint8Array): number {
  if (part.buffer === block.buffer) {
    const at = part.byteOffset - block.byteOffset
    if (at >= 0 && at + part.byteLength <= block.byteLength) return at
  }
  return Buffer.from(block.buffer, block.byteOffset, block.byteLength).indexOf(Buffer.from(part.buffer, part.byteOffset, part.byteLength))
}
