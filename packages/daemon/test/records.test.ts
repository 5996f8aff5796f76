import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { sealManifest } from '@shoal/protocol'
import { IpfsBlockStore } from '../src/ipfs/block-store.js'
import { CidList } from '../src/ipfs/cid-list.js'
import { IpfsRecords } from '../src/ipfs/ipfs-records.js'
import { IpfsShares } from '../src/ipfs/ipfs-shares.js'
import { rawLeafCid } from '../src/ipfs/unixfs-layout.js'
import { FileStamps } from '../src/storage/file-stamps.js'
import { Records } from '../src/storage/records.js'
import type { ShareRecord } from '../src/storage/records.js'

function shareRecord (cid: string, stamps: FileStamps): ShareRecord {
  return { cid, name: 'tree', kind: 'dir', path: '/data/tree', size: 10, files: stamps.length, chunks: 1, origin: 'shared', sharedAt: '2026-12-01T00:00:00.000Z', stale: false, stamps }
}

const stampsOf = (r: ShareRecord | undefined): unknown[] => Array.from({ length: r?.stamps.length ?? 0 }, (_, i) => r?.stamps.at(i))

describe('Records: share records', () => {
  it('stores the stamps apart from the JSON and reads them back, by get and by list', async () => {
    const ds = new MemoryDatastore()
    const records = new Records(ds, defaultLogger())
    const stamps = FileStamps.of([{ size: 3, mtimeMs: 1764547200000.5 }, { size: 0, mtimeMs: 7 }])
    await records.putShare(shareRecord('bafyone', stamps), new Uint8Array([1, 2, 3]))
    const json = JSON.parse(new TextDecoder().decode(await ds.get(new Key('/shoal/share/bafyone'))))
    expect(json.stamps).toBeUndefined()
    expect(json.stampsPacked).toBeUndefined()
    expect(stampsOf(await records.getShare('bafyone'))).toEqual([{ size: 3, mtimeMs: 1764547200000.5 }, { size: 0, mtimeMs: 7 }])
    expect(stampsOf((await records.listShares())[0])).toEqual([{ size: 3, mtimeMs: 1764547200000.5 }, { size: 0, mtimeMs: 7 }])
    await records.deleteShare('bafyone')
    expect(await ds.has(new Key('/shoal/stamps/bafyone'))).toBe(false)
  })

  it('reads records written before: stamps as base64 in the JSON, or as objects', async () => {
    const ds = new MemoryDatastore()
    const records = new Records(ds, defaultLogger())
    const { stamps: _s, ...rest } = shareRecord('bafyold', FileStamps.sized(0))
    const packed = Buffer.from(FileStamps.of([{ size: 9, mtimeMs: 11 }]).toBytes()).toString('base64')
    await ds.put(new Key('/shoal/share/bafyold'), new TextEncoder().encode(JSON.stringify({ ...rest, stampsPacked: packed })))
    await ds.put(new Key('/shoal/share/bafyolder'), new TextEncoder().encode(JSON.stringify({ ...rest, cid: 'bafyolder', stamps: [{ size: 1, mtimeMs: 2 }] })))
    expect(stampsOf(await records.getShare('bafyold'))).toEqual([{ size: 9, mtimeMs: 11 }])
    expect(stampsOf(await records.getShare('bafyolder'))).toEqual([{ size: 1, mtimeMs: 2 }])
    // stored again (marked stale), an old record moves to the new form
    const old = await records.getShare('bafyold') as ShareRecord
    await records.updateShare({ ...old, stale: true })
    expect(stampsOf(await records.getShare('bafyold'))).toEqual([{ size: 9, mtimeMs: 11 }])
    expect((await records.getShare('bafyold'))?.stale).toBe(true)
  })
})

const rootDigests = [1, 2, 3].map(k => createHash('sha256').update(String(k)).digest())

describe('IpfsRecords: file roots', () => {
  it('keeps a share\'s file roots as a value of their own, and forgets them with the share', async () => {
    const ds = new MemoryDatastore()
    const records = new IpfsRecords(ds)
    const roots = CidList.of(rootDigests.map(d => rawLeafCid(d)))
    await records.put('bafyshare', { root: roots.stringAt(0) as string, fileRootsStored: true, blocks: [], leaves: 'chunks' }, [], undefined, roots.toBytes())
    const json = JSON.parse(new TextDecoder().decode(await ds.get(new Key('/shoal/ipfs/share/bafyshare'))))
    expect(json.fileRoots).toBeUndefined()
    expect(CidList.fromBytes(await records.fileRoots('bafyshare') as Uint8Array).strings()).toEqual(roots.strings())
    await records.delete('bafyshare')
    expect(await records.fileRoots('bafyshare')).toBeUndefined()
    expect(await records.get('bafyshare')).toBeUndefined()
  })
})

describe('IpfsShares: loading UnixFS records', () => {
  /** A repo with a two-file share (files of 1 byte: each file's root is its raw leaf) under each of `cids`, and an IpfsShares over it. */
  async function repoWith (cids: string[]): Promise<{ ds: MemoryDatastore, store: IpfsBlockStore, ipfsShares: IpfsShares, roots: CidList }> {
    const ds = new MemoryDatastore()
    const records = new Records(ds, defaultLogger())
    const ipfsRecords = new IpfsRecords(ds)
    const log = defaultLogger().forComponent('test:ipfs-shares')
    const store = new IpfsBlockStore({ records: ipfsRecords, lookup: () => undefined, log })
    const digests = rootDigests.slice(0, 2)
    const manifest = { version: 1, kind: 'dir' as const, chunkSize: 1024 * 1024, files: digests.map((d, i) => ({ path: `f${i}`, size: 1, hashes: Uint8Array.from(d) })), dirs: [] }
    const { bytes } = await sealManifest(manifest)
    for (const cid of cids) await records.putManifest(cid, bytes)
    const share = (cid: string): ShareRecord | undefined => cids.includes(cid) ? shareRecord(cid, FileStamps.sized(2)) : undefined
    const ipfsShares = new IpfsShares({ records, ipfsRecords, store, share, layout: () => undefined, list: () => cids.map(cid => ({ cid, stale: false })), log })
    return { ds, store, ipfsShares, roots: CidList.of(digests.map(d => rawLeafCid(d))) }
  }

  it('indexes a share whose record holds its file roots as base64, or as strings (records written before)', async () => {
    const cids = ['old-base64', 'old-strings']
    const { ds, store, ipfsShares, roots } = await repoWith(cids)
    const forms = [{ fileRoots: Buffer.from(roots.toBytes()).toString('base64') }, { files: roots.strings() }]
    for (const [i, cid] of cids.entries()) {
      await ds.put(new Key(`/shoal/ipfs/share/${cid}`), new TextEncoder().encode(JSON.stringify({ root: roots.stringAt(0), blocks: [], leaves: 'chunks', ...forms[i] })))
    }
    await ipfsShares.load()
    for (const cid of cids) expect(store.fileRootsOf(cid)?.strings()).toEqual(roots.strings())
  })

  it('lays a share out again when its record names file roots the repo lost', async () => {
    const { ds, store, ipfsShares, roots } = await repoWith(['damaged'])
    await ds.put(new Key('/shoal/ipfs/share/damaged'), new TextEncoder().encode(JSON.stringify({ root: roots.stringAt(0), fileRootsStored: true, blocks: [], leaves: 'chunks' })))
    await ipfsShares.load()
    // (the layout runs in the background: rootOf waits for it)
    expect(await ipfsShares.rootOf('damaged')).toBeDefined()
    expect(store.fileRootsOf('damaged')?.strings()).toEqual(roots.strings())
  })
})
