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
  const entries = [...files.map(f => ({ path: f.path, content: (async function * () { yield f.data })() })), ...dirs.map(path => ({ path }))]
  for await (const entry of offlineUnixfs().addAll(entries, { wrapWithDirectory: true, ...options })) root = entry.cid
  if (root === undefined) throw new Error('helia added nothing')
  return root
}

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
    for (const [i, f] of files.entries()) expect(ours.fileRoots[i]?.toString()).toBe((await heliaFile(f.data)).toString())
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

  it('a small directory is the same under Helia defaults and the profile', async () => {
    const files = [{ path: 'a.txt', data: bytesOf(10) }, { path: 'b/c.txt', data: bytesOf(20, 5) }]
    const defaults = await heliaTree(files, [])
    expect((await heliaTree(files, [], { profile: 'unixfs-v1-2025' })).toString()).toBe(defaults.toString())
    expect((await layoutShare('dir', files.map(f => fileOf(f.path, f.data)), [])).root.toString()).toBe(defaults.toString())
  })
})
