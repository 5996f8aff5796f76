/**
 * The walk of one UnixFS fetch: from the root, every verified block is
 * decoded (unixfs-node.ts) and placed. File bytes (raw leaves, dag-pb leaves)
 * are written into `<out>.part` at their offsets; inner nodes, directories and
 * HAMT shards are kept in the repo and their children asked for. A block that
 * appears at several places (identical chunks, the same file twice) is
 * fetched once and copied. Progress is kept per parent node as one bit per
 * link, set only after the bytes were written; a resumed walk takes the nodes
 * from the repo and re-hashes, from the part files, every leaf its bits claim.
 */
import fs from 'node:fs/promises'
import nodePath from 'node:path'
import type { CID } from 'multiformats/cid'
import { DAG_PB_CODE, ErrorCode, ShoalError } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import { IPFS_LEAF_MAX_BYTES, IPFS_MAX_DAG_DEPTH, IPFS_MAX_DAG_NODES } from '../../constants.js'
import { fsError } from '../../errors.js'
import { alignedSlots, directIoAligned, openDirectForWrite } from '../../storage/direct-io.js'
import { FileHandleCache } from '../../storage/file-handles.js'
import { keyOf, matches } from '../block-store.js'
import type { WantedBlock } from './block-scheduler.js'
import type { FetchProgressStore } from './fetch-records.js'
import { decodeUnixfs } from './unixfs-node.js'
import type { UnixfsNode } from './unixfs-node.js'

type Need =
  | { t: 'entry', path: string, parent: string, link: number, depth: number }
  | { t: 'shard', path: string, parent: string, link: number, depth: number }
  | { t: 'part', file: OutFile, offset: number, length: number, parent: string, link: number, depth: number }

interface OutFile { path: string, size: number, id: number }

/** File bytes the walk wrote: `prefix ‖ file[offset, offset + length) ‖ suffix` is the block `cid`. */
export interface WrittenLeaf {
  cid: CID
  path: string
  offset: number
  length: number
  prefix?: Uint8Array
  suffix?: Uint8Array
}

export interface UnixfsTreeInit {
  root: CID
  partPath: string
  progress: FetchProgressStore
  log: Logger
  /** Ask the network for a block. */
  want: (block: WantedBlock) => void
}

/** See the module comment. */
export class UnixfsTree {
  readonly root: CID
  kind?: 'file' | 'dir'
  /** Bytes of every file known so far, and bytes written (verified). */
  size = 0
  received = 0
  readonly files = new Map<string, OutFile>()
  readonly dirs = new Set<string>()
  readonly leaves: WrittenLeaf[] = []
  /** The CID of each file, by path ('' for a file fetch). */
  readonly entries = new Map<string, CID>()
  /** The dag-pb nodes kept in the repo, by CID text. */
  readonly nodes = new Map<string, CID>()
  private readonly init: UnixfsTreeInit
  private readonly awaited = new Map<string, { cid: CID, needs: Need[] }>()
  private readonly written = new Map<string, WrittenLeaf>()
  private readonly masks = new Map<string, Uint8Array>()
  private readonly dirty = new Set<string>()
  private readonly handles = new FileHandleCache(64, openForWrite)
  /** Files whose part file has its full (sparse) size. */
  private readonly sized = new Set<number>()
  /** Aligned leaves (every 1 MiB one but a file's last) go past the page cache, as Shoal's own downloads do (PartFiles). */
  private readonly direct = new FileHandleCache(64, async p => {
    const handle = await openDirectForWrite(p)
    if (handle === undefined) throw new Error('no direct I/O')
    return handle
  })
  private directIo = process.env.SHOAL_DIRECT_IO !== '0'
  private resume = false
  private pending = 0
  private walked = 0

  constructor (init: UnixfsTreeInit) {
    this.init = init
    this.root = init.root
  }

  /** True once every block is placed and nothing is being written. */
  get complete (): boolean {
    return this.awaited.size === 0 && this.pending === 0 && this.kind !== undefined
  }

  /** Walk from the root; `resume`: take what the repo and the part files already hold. */
  async begin (resume: boolean): Promise<void> {
    this.resume = resume
    if (!resume) await fs.rm(this.init.partPath, { recursive: true, force: true })
    await this.track(async () => { await this.need(this.root, { t: 'entry', path: '', parent: 'root', link: 0, depth: 0 }) })
  }

  /** A block we asked for arrived, verified against its CID: place it everywhere it is needed. */
  async onBlock (cid: CID, block: Uint8Array): Promise<void> {
    const entry = this.awaited.get(keyOf(cid))
    if (entry === undefined) return
    this.awaited.delete(keyOf(cid))
    await this.track(async () => {
      for (const need of entry.needs) await this.apply(entry.cid, block, need)
    })
  }

  /** Save the written-bit masks that changed. */
  async flush (): Promise<void> {
    for (const parent of [...this.dirty]) {
      this.dirty.delete(parent)
      const mask = this.masks.get(parent)
      if (mask !== undefined) await this.init.progress.putMask(parent, mask)
    }
  }

  /** Every file exists at its size (one without any bytes to write too, such as an empty file). */
  async materialize (): Promise<void> {
    for (const file of this.files.values()) await this.write(file, 0, new Uint8Array(0))
    await this.direct.close()
    await this.handles.close()
  }

  async close (): Promise<void> {
    await this.direct.close()
    await this.handles.close()
  }

  private async track (fn: () => Promise<void>): Promise<void> {
    this.pending++
    try { await fn() } finally { this.pending-- }
  }

  private async need (cid: CID, need: Need): Promise<void> {
    if (++this.walked > IPFS_MAX_DAG_NODES) throw new ShoalError(ErrorCode.INVALID_DAG, `${this.root.toString()} has more than ${IPFS_MAX_DAG_NODES} nodes`)
    if (need.depth > IPFS_MAX_DAG_DEPTH) throw new ShoalError(ErrorCode.INVALID_DAG, `${this.root.toString()} is nested more than ${IPFS_MAX_DAG_DEPTH} deep`)
    const key = keyOf(cid)
    const waiting = this.awaited.get(key)
    if (waiting !== undefined) { waiting.needs.push(need); return }
    // a node fetched before (this run, or one before it)
    if (this.nodes.has(cid.toString()) || (this.resume && cid.code === DAG_PB_CODE)) {
      const stored = await this.init.progress.getNode(cid.toString())
      if (stored !== undefined && matches(cid, stored)) { await this.apply(cid, stored, need); return }
    }
    // file bytes written elsewhere already: copy them
    const copy = this.written.get(key)
    if (copy !== undefined && await this.copyLeaf(copy, need)) return
    if (this.resume && await this.verifyHeld(cid, need)) return
    this.awaited.set(key, { cid, needs: [need] })
    // a part no bigger than a leaf can be is taken for one: a raw leaf holds exactly its bytes
    const size = need.t === 'part' && need.length <= IPFS_LEAF_MAX_BYTES ? need.length : undefined
    this.init.want({ key, cid, structure: cid.code === DAG_PB_CODE, ...(size !== undefined ? { size } : {}) })
  }

  private async apply (cid: CID, block: Uint8Array, need: Need): Promise<void> {
    const node = decodeUnixfs(cid, block)
    const key = keyOf(cid)
    if (need.parent === 'root') this.kind = node.kind === 'dir' || node.kind === 'hamt' ? 'dir' : 'file'
    if (node.kind !== 'data') await this.keep(cid, block)
    switch (need.t) {
      case 'entry':
        if (node.kind === 'data' || node.kind === 'file') this.entries.set(need.path, cid)
        if (node.kind === 'data') {
          await this.writeLeaf(cid, node, this.addFile(need.path, node.length), 0, need)
        } else if (node.kind === 'file') {
          await this.fileNode(key, node, this.addFile(need.path, node.size), 0, need.depth)
        } else if (node.kind === 'dir' || node.kind === 'hamt') {
          await this.addDir(need.path)
          await this.dirLinks(key, node.links, need.path, need.depth)
        } else {
          if (need.parent === 'root') throw new ShoalError(ErrorCode.INVALID_DAG, `${cid.toString()} is a symlink: there is nothing to save`)
          this.init.log('skipping symlink %s in %c (not saved)', need.path, this.root)
        }
        return
      case 'shard':
        if (node.kind !== 'hamt') throw new ShoalError(ErrorCode.INVALID_DAG, `${cid.toString()} should be a HAMT shard of ${need.path || 'the root'}`)
        await this.dirLinks(key, node.links, need.path, need.depth)
        return
      case 'part':
        if (node.kind === 'data' && node.length === need.length) {
          await this.writeLeaf(cid, node, need.file, need.offset, need)
        } else if (node.kind === 'file' && node.size === need.length) {
          await this.fileNode(key, node, need.file, need.offset, need.depth)
        } else {
          throw new ShoalError(ErrorCode.INVALID_DAG, `${cid.toString()} does not hold the ${need.length} bytes its parent says`)
        }
    }
  }

  private async fileNode (key: string, node: Extract<UnixfsNode, { kind: 'file' }>, file: OutFile, base: number, depth: number): Promise<void> {
    // a node's own bytes come before its children's (the node itself is kept whole)
    if (node.own > 0) await this.write(file, base, node.block.subarray(node.dataStart, node.dataStart + node.own))
    for (let i = 0; i < node.parts.length; i++) {
      const part = node.parts[i] as (typeof node.parts)[number]
      if (part.length === 0) continue
      await this.need(part.cid, { t: 'part', file, offset: base + part.offset, length: part.length, parent: key, link: i, depth: depth + 1 })
    }
  }

  private async dirLinks (key: string, links: Array<{ cid: CID, name?: string }>, path: string, depth: number): Promise<void> {
    for (let i = 0; i < links.length; i++) {
      const link = links[i] as (typeof links)[number]
      if (link.name === undefined) await this.need(link.cid, { t: 'shard', path, parent: key, link: i, depth: depth + 1 })
      else await this.need(link.cid, { t: 'entry', path: path === '' ? link.name : `${path}/${link.name}`, parent: key, link: i, depth: depth + 1 })
    }
  }

  private async keep (cid: CID, block: Uint8Array): Promise<void> {
    const text = cid.toString()
    if (this.nodes.has(text)) return
    this.nodes.set(text, cid)
    await this.init.progress.putNode(text, block)
  }

  private addFile (path: string, size: number): OutFile {
    if (this.files.has(path) || this.dirs.has(path)) throw new ShoalError(ErrorCode.INVALID_DAG, `${this.root.toString()} names ${JSON.stringify(path)} twice`)
    const file = { path, size, id: this.files.size }
    this.files.set(path, file)
    this.size += size
    return file
  }

  private async addDir (path: string): Promise<void> {
    if (this.files.has(path) || this.dirs.has(path)) throw new ShoalError(ErrorCode.INVALID_DAG, `${this.root.toString()} names ${JSON.stringify(path)} twice`)
    this.dirs.add(path)
    await fs.mkdir(this.pathOf(path), { recursive: true }).catch(err => { throw fsError(err, 'cannot create', this.pathOf(path)) })
  }

  private async writeLeaf (cid: CID, node: Extract<UnixfsNode, { kind: 'data' }>, file: OutFile, offset: number, need: Need): Promise<void> {
    const { block, dataStart, length } = node
    await this.write(file, offset, block.subarray(dataStart, dataStart + length))
    const framed = cid.code === DAG_PB_CODE
    const prefix = framed ? block.slice(0, dataStart) : undefined
    const suffix = framed ? block.slice(dataStart + length) : undefined
    if (framed && !this.written.has(keyOf(cid))) await this.init.progress.putFraming(cid.toString(), prefix as Uint8Array, suffix as Uint8Array)
    this.placed({ cid, path: file.path, offset, length, ...(framed ? { prefix, suffix } : {}) }, need)
  }

  /** Bytes of a leaf now in place at `leaf`: count them, mark their link written. */
  private placed (leaf: WrittenLeaf, need: Need): void {
    this.written.set(keyOf(leaf.cid), leaf)
    this.leaves.push(leaf)
    this.received += leaf.length
    let mask = this.masks.get(need.parent)
    const byte = need.link >> 3
    if (mask === undefined || mask.byteLength <= byte) {
      const grown = new Uint8Array(Math.max(byte + 1, (mask?.byteLength ?? 0) * 2))
      if (mask !== undefined) grown.set(mask)
      mask = grown
      this.masks.set(need.parent, mask)
    }
    mask[byte] = (mask[byte] as number) | (0x80 >> (need.link & 7))
    this.dirty.add(need.parent)
  }

  /** A leaf needed again elsewhere: copy its bytes from where they were written. */
  private async copyLeaf (from: WrittenLeaf, need: Need): Promise<boolean> {
    const target = need.t === 'part' ? need.file : need.t === 'entry' ? this.addFile(need.path, from.length) : undefined
    if (target === undefined || (need.t === 'part' && need.length !== from.length)) return false
    if (need.t === 'entry') this.entries.set(need.path, from.cid)
    const bytes = await this.read(from.path, from.offset, from.length)
    await this.write(target, need.t === 'part' ? need.offset : 0, bytes)
    this.placed({ ...from, path: target.path, offset: need.t === 'part' ? need.offset : 0 }, need)
    return true
  }

  /** Resume: the bits claim this leaf is written; true when the part file's bytes hash to it. */
  private async verifyHeld (cid: CID, need: Need): Promise<boolean> {
    if (need.t === 'shard') return false
    const mask = this.masks.get(need.parent) ?? await this.init.progress.getMask(need.parent)
    if (mask === undefined) return false
    if (!this.masks.has(need.parent)) this.masks.set(need.parent, Uint8Array.from(mask))
    if ((((mask[need.link >> 3] ?? 0) >> (7 - (need.link & 7))) & 1) === 0) return false
    const framing = cid.code === DAG_PB_CODE ? await this.init.progress.getFraming(cid.toString()) : undefined
    if (cid.code === DAG_PB_CODE && framing === undefined) return false
    const path = need.t === 'part' ? need.file.path : need.path
    const offset = need.t === 'part' ? need.offset : 0
    let length: number
    try {
      length = need.t === 'part' ? need.length : (await fs.stat(this.pathOf(path))).size
    } catch {
      return false
    }
    const bytes = await this.read(path, offset, length).catch(() => undefined)
    if (bytes === undefined) return false
    const block = framing === undefined ? bytes : Buffer.concat([framing.prefix, bytes, framing.suffix])
    if (!matches(cid, block)) return false
    const file = need.t === 'part' ? need.file : this.addFile(need.path, length)
    if (need.t === 'entry') this.entries.set(need.path, cid)
    this.placed({ cid, path: file.path, offset, length, ...(framing !== undefined ? framing : {}) }, need)
    return true
  }

  private pathOf (rel: string): string {
    return rel === '' ? this.init.partPath : nodePath.join(this.init.partPath, ...rel.split('/'))
  }

  private async write (file: OutFile, offset: number, bytes: Uint8Array): Promise<void> {
    const filePath = this.pathOf(file.path)
    try {
      await this.handles.use(file.id, filePath, async handle => {
        if (!this.sized.has(file.id)) {
          if ((await handle.stat()).size !== file.size) await handle.truncate(file.size)
          this.sized.add(file.id)
        }
        if (this.directIo && directIoAligned(offset, bytes.byteLength) && await this.writeDirect(file, filePath, offset, bytes)) return
        for (let done = 0; done < bytes.byteLength;) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, offset + done)
          done += bytesWritten
        }
      })
    } catch (err) {
      throw fsError(err, 'cannot write', filePath)
    }
  }

  /** O_DIRECT from an aligned slot; false (and direct I/O off from now on) where the filesystem refuses it. */
  private async writeDirect (file: OutFile, filePath: string, offset: number, bytes: Uint8Array): Promise<boolean> {
    const slot = alignedSlots.take(bytes.byteLength)
    if (slot === undefined) return false
    try {
      slot.buffer.set(bytes)
      await this.direct.use(file.id, filePath, async handle => {
        for (let done = 0; done < bytes.byteLength;) {
          const { bytesWritten } = await handle.write(slot.buffer, done, bytes.byteLength - done, offset + done)
          done += bytesWritten
        }
      })
      return true
    } catch (err) {
      if ((err as Error).message === 'no direct I/O' || (err as NodeJS.ErrnoException).code === 'EINVAL') {
        this.directIo = false
        return false
      }
      throw err
    } finally {
      slot.release()
    }
  }

  private async read (path: string, offset: number, length: number): Promise<Uint8Array> {
    const handle = await fs.open(this.pathOf(path), 'r')
    try {
      const out = Buffer.allocUnsafe(length)
      for (let done = 0; done < length;) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done)
        if (bytesRead === 0) throw new ShoalError(ErrorCode.IO_ERROR, `${this.pathOf(path)} is shorter than expected`)
        done += bytesRead
      }
      return out
    } finally {
      await handle.close()
    }
  }
}

async function openForWrite (filePath: string): Promise<fs.FileHandle> {
  await fs.mkdir(nodePath.dirname(filePath), { recursive: true })
  try {
    return await fs.open(filePath, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    return await fs.open(filePath, 'w+', 0o644)
  }
}
