import { defaultLogger } from '@libp2p/logger'
import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
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

describe('IpfsRecords: file roots', () => {
  it('keeps a share\'s file roots as a value of their own, and forgets them with the share', async () => {
    const { IpfsRecords } = await import('../src/ipfs/ipfs-records.js')
    const { CidList } = await import('../src/ipfs/cid-list.js')
    const { rawLeafCid } = await import('../src/ipfs/unixfs-layout.js')
    const { createHash } = await import('node:crypto')
    const ds = new MemoryDatastore()
    const records = new IpfsRecords(ds)
    const roots = CidList.of([1, 2, 3].map(k => rawLeafCid(createHash('sha256').update(String(k)).digest())))
    await records.put('bafyshare', { root: roots.stringAt(0) as string, fileRootsStored: true, blocks: [], leaves: 'chunks' }, [], undefined, roots.toBytes())
    const json = JSON.parse(new TextDecoder().decode(await ds.get(new Key('/shoal/ipfs/share/bafyshare'))))
    expect(json.fileRoots).toBeUndefined()
    expect(CidList.fromBytes(await records.fileRoots('bafyshare') as Uint8Array).strings()).toEqual(roots.strings())
    await records.delete('bafyshare')
    expect(await records.fileRoots('bafyshare')).toBeUndefined()
    expect(await records.get('bafyshare')).toBeUndefined()
  })
})

describe('IpfsShares: records written before file roots were a value of their own', () => {
  it('indexes a share whose record holds its file roots as base64, or as strings', async () => {
    const { IpfsRecords } = await import('../src/ipfs/ipfs-records.js')
    const { IpfsBlockStore } = await import('../src/ipfs/block-store.js')
    const { IpfsShares } = await import('../src/ipfs/ipfs-shares.js')
    const { CidList } = await import('../src/ipfs/cid-list.js')
    const { rawLeafCid } = await import('../src/ipfs/unixfs-layout.js')
    const { sealManifest } = await import('@shoal/protocol')
    const { createHash } = await import('node:crypto')
    const ds = new MemoryDatastore()
    const records = new Records(ds, defaultLogger())
    const ipfsRecords = new IpfsRecords(ds)
    const log = defaultLogger().forComponent('test:ipfs-shares')
    const store = new IpfsBlockStore({ records: ipfsRecords, lookup: () => undefined, log })
    const digests = [1, 2].map(k => createHash('sha256').update(String(k)).digest())
    const roots = CidList.of(digests.map(d => rawLeafCid(d)))
    const manifest = { version: 1, kind: 'dir' as const, chunkSize: 1024 * 1024, files: digests.map((d, i) => ({ path: `f${i}`, size: 1, hashes: Uint8Array.from(d) })), dirs: [] }
    const shares: string[] = []
    for (const [cid, form] of [['old-base64', { fileRoots: Buffer.from(roots.toBytes()).toString('base64') }], ['old-strings', { files: roots.strings() }]] as const) {
      const sealed = await sealManifest(manifest)
      await records.putManifest(cid, sealed.bytes)
      await ds.put(new Key(`/shoal/ipfs/share/${cid}`), new TextEncoder().encode(JSON.stringify({ root: roots.stringAt(0), blocks: [], leaves: 'chunks', ...form })))
      shares.push(cid)
    }
    const ipfsShares = new IpfsShares({ records, ipfsRecords, store, share: () => undefined, layout: () => undefined, list: () => shares.map(cid => ({ cid, stale: false })), log })
    await ipfsShares.load()
    for (const cid of shares) expect(store.fileRootsOf(cid)?.strings()).toEqual(roots.strings())
  })
})
