/**
 * The UnixFS CID Shoal computes from chunk hashes alone equals the CID a
 * stock Helia (helia 7, @helia/unixfs defaults) gives the same bytes, at the
 * sizes where the layout changes. The 1 GiB cases are in
 * ipfs-layout-gib.test.ts.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { CID } from 'multiformats/cid'
import { UNIXFS_CHUNK_SIZE } from '@shoal/protocol'
import { layoutShare } from '../src/ipfs/unixfs-layout.js'
import { encodeFlatDirectory } from '../src/ipfs/directory-layout.js'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID as CIDClass } from 'multiformats/cid'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import type { LayoutFile } from '../src/ipfs/unixfs-layout.js'
import { offlineUnixfs } from '../../../examples/support/helia-node.js'

const MiB = UNIXFS_CHUNK_SIZE

/** Bytes that differ from chunk to chunk (identical leaves would hide a layout mistake). */
function bytesOf (size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < size; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

function leafDigests (data: Uint8Array): Uint8Array {
  const parts: Buffer[] = []
  for (let at = 0; at < data.byteLength; at += MiB) parts.push(createHash('sha256').update(data.subarray(at, at + MiB)).digest())
  return Buffer.concat(parts)
}

function fileOf (path: string, data: Uint8Array): LayoutFile {
  return { path, size: data.byteLength, leafDigests: leafDigests(data) }
}

async function heliaFile (data: Uint8Array): Promise<CID> {
  return await offlineUnixfs().addByteStream((async function * () { yield data })())
}

async function heliaTree (files: Array<{ path: string, data: Uint8Array }>, dirs: string[], options: Record<string, unknown> = {}): Promise<CID> {
  let root: CID | undefined
  // in path order: ipfs-unixfs-importer 17 drops entries when a directory made before its parent
  // became a HAMT gets an entry after it (the sub-directory keeps a link to the old flat parent);
  // in path order that never happens, and every file is in the DAG
  const entries = [...files.map(f => ({ path: f.path, content: (async function * () { yield f.data })() })), ...dirs.map(path => ({ path }))]
    .sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  for await (const entry of offlineUnixfs().addAll(entries, { wrapWithDirectory: true, ...options })) root = entry.cid
  if (root === undefined) throw new Error('helia added nothing')
  return root
}

describe('encodeFlatDirectory', () => {
  it('writes the bytes dag-pb writes, for link sizes across varint boundaries and non-ASCII names', async () => {
    const links = []
    for (const [i, tsize] of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 40 + 3].entries()) {
      const cid = CIDClass.createV1(i % 2 === 0 ? 0x55 : dagPb.code, await sha256Hasher.digest(Uint8Array.of(i)))
      links.push({ name: i === 3 ? 'ünï-' + String(i) : i === 5 ? 'x'.repeat(200) : `n${i}`, cid, tsize })
    }
    links.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    const ours = encodeFlatDirectory(links.map(l => ({ name: Buffer.from(l.name), cid: l.cid.bytes, tsize: l.tsize })))
    const theirs = dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: links.map(l => ({ Name: l.name, Tsize: l.tsize, Hash: l.cid })) }))
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true)
    expect(Buffer.from(encodeFlatDirectory([])).equals(Buffer.from(dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'directory' }).marshal() }))))).toBe(true)
  })
})

describe('UnixFS layout (unixfs-v1-2025) equals stock Helia', () => {
  for (const [label, size] of [['0 bytes', 0], ['1 byte', 1], ['1 MiB - 1', MiB - 1], ['1 MiB', MiB], ['1 MiB + 1', MiB + 1], ['5 MiB + 3', 5 * MiB + 3]] as const) {
    it(`a file of ${label}`, async () => {
      const data = bytesOf(size)
      const ours = await layoutShare('file', [fileOf('', data)], [])
      expect(ours.root.toString()).toBe((await heliaFile(data)).toString())
      // one leaf or none: the file is its raw leaf, no dag-pb node at all
      if (size <= MiB) expect(ours.blocks).toHaveLength(0)
    })
  }

  it('a nested directory with an empty file and an empty directory', async () => {
    const files = [
      { path: 'docs/empty.txt', data: new Uint8Array(0) },
      { path: 'docs/deep/more/big.bin', data: bytesOf(3 * MiB + 5, 2) },
      { path: 'top.txt', data: new TextEncoder().encode('hello') },
      { path: 'z/one-mib.bin', data: bytesOf(MiB, 3) }
    ]
    const ours = await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), ['docs/nothing-here'])
    expect(ours.root.toString()).toBe((await heliaTree(files, ['docs/nothing-here'])).toString())
    // every file's own root is what Helia gives that file alone
    for (const [i, f] of files.entries()) expect(ours.fileRoots.at(i)?.toString()).toBe((await heliaFile(f.data)).toString())
  })

  it('an empty directory share', async () => {
    const ours = await layoutShare('dir', [], [])
    expect(ours.root.toString()).toBe((await heliaTree([], [])).toString())
    expect(ours.root.toString()).toBe('bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354')
  })

  it('a directory past the HAMT threshold is sharded as the profile says (block-bytes)', async () => {
    // 3000 entries of ~60-byte names: the flat node would be ~300 KiB > 256 KiB
    const files = Array.from({ length: 3000 }, (_, i) => ({ path: `dir/file-with-a-rather-long-name-to-fill-the-node-${String(i).padStart(5, '0')}.txt`, data: bytesOf(1 + (i % 7), i) }))
    const ours = await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), [])
    expect(ours.root.toString()).toBe((await heliaTree(files, [], { profile: 'unixfs-v1-2025' })).toString())
    // the sub-directory is a HAMT: its node has at most 256 links
    expect(ours.blocks.length).toBeGreaterThan(2)
  })

  it('names that sort between a folder and its files, non-ASCII names, files given out of order', async () => {
    // 'a-b' and 'a.txt' sort between 'a' and 'a/…' ('-' and '.' are below '/'); 'a0' after them all
    const files = [
      { path: 'a/z.txt', data: bytesOf(3, 1) },
      { path: 'a-b/x', data: bytesOf(4, 2) },
      { path: 'a.txt', data: bytesOf(5, 3) },
      { path: 'a/b/c/d.bin', data: bytesOf(6, 4) },
      { path: 'a0', data: bytesOf(0) },
      { path: 'été/ünïcödé-名前.txt', data: bytesOf(7, 5) },
      { path: 'a/b/e.bin', data: bytesOf(8, 6) }
    ]
    const dirs = ['a/b/empty', 'a-b/y', 'zz/empty']
    const ours = await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), dirs)
    expect(ours.root.toString()).toBe((await heliaTree(files, dirs)).toString())
    for (const [i, f] of files.entries()) expect(ours.fileRoots.at(i)?.toString()).toBe((await heliaFile(f.data)).toString())
  })

  it('a HAMT directory holding sub-directories, beside flat ones, under a sharded root', async () => {
    // the root has 2600 files of ~100-byte names (over 256 KiB: sharded) and folders; 'big' is
    // sharded with sub-directories in it; 'small' stays flat; sub-directories count 0 bytes
    // towards their parent's split, as in the importer
    const name = (i: number): string => `${'n'.repeat(90)}-${String(i).padStart(5, '0')}`
    const files: Array<{ path: string, data: Uint8Array }> = []
    for (let i = 0; i < 2600; i++) files.push({ path: name(i), data: bytesOf(1 + (i % 5), i) })
    for (let i = 0; i < 2600; i++) files.push({ path: `big/${name(i)}`, data: bytesOf(1 + (i % 3), i + 7) })
    for (let i = 0; i < 40; i++) files.push({ path: `big/sub-${i % 4}/f${i}`, data: bytesOf(2, i) })
    files.push({ path: 'small/one', data: bytesOf(9, 9) })
    files.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
    const ours = await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), ['big/sub-9'])
    expect(ours.root.toString()).toBe((await heliaTree(files, ['big/sub-9'], { profile: 'unixfs-v1-2025' })).toString())
  })

  it('a directory just under the split stays flat and one just over is sharded, as Helia decides', async () => {
    // each link: tag + length + (1 + 1 + 36 cid) + (1 + 1 + 20 name) + (1 + 2 tsize of 200) = 65 bytes;
    // node = 4 + 65 n: 4032 links are 262,084 bytes (flat), 4033 are 262,149 (over 256 KiB: sharded)
    const file = (i: number): { path: string, data: Uint8Array } => ({ path: `d/${String(i).padStart(20, '0')}`, data: bytesOf(200, i) })
    for (const [count, flat] of [[4032, true], [4033, false]] as const) {
      const files = Array.from({ length: count }, (_, i) => file(i))
      const ours = await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), [])
      expect(ours.root.toString()).toBe((await heliaTree(files, [], { profile: 'unixfs-v1-2025' })).toString())
      // flat: the node of d and the root's, nothing else; sharded: HAMT shards under d
      if (flat) expect(ours.blocks).toHaveLength(2)
      else expect(ours.blocks.length).toBeGreaterThan(2)
    }
  })

  it('a small directory is the same under Helia defaults and the profile', async () => {
    const files = [{ path: 'a.txt', data: bytesOf(10) }, { path: 'b/c.txt', data: bytesOf(20, 5) }]
    const defaults = await heliaTree(files, [])
    expect((await heliaTree(files, [], { profile: 'unixfs-v1-2025' })).toString()).toBe(defaults.toString())
    expect((await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), [])).root.toString()).toBe(defaults.toString())
  })
})
