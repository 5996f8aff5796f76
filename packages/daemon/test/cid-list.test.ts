import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { describe, expect, it } from 'vitest'
import { CidList } from '../src/ipfs/cid-list.js'
import { rawLeafCid } from '../src/ipfs/unixfs-layout.js'

const digest = (k: number): Uint8Array => createHash('sha256').update(String(k)).digest()

describe('CidList', () => {
  const cids = [
    rawLeafCid(digest(1)),
    CID.createV1(dagPb.code, createDigest(0x12, digest(2))),
    CID.createV0(createDigest(0x12, digest(3))),
    rawLeafCid(createHash('sha256').digest())
  ]

  it('gives back each CID and the string CID.toString gives, v0 and v1 alike', () => {
    const list = CidList.of(cids)
    expect(list.length).toBe(4)
    cids.forEach((cid, i) => {
      expect(list.at(i)?.equals(cid)).toBe(true)
      expect(list.stringAt(i)).toBe(cid.toString())
    })
    expect(list.strings()).toEqual(cids.map(c => c.toString()))
    expect([...list].map(c => c.toString())).toEqual(cids.map(c => c.toString()))
    expect(list.at(4)).toBeUndefined()
    expect(list.stringAt(-1)).toBeUndefined()
  })

  it('reads back its packed bytes, and refuses bytes cut inside a CID', () => {
    const bytes = CidList.of(cids).toBytes()
    expect(CidList.fromBytes(bytes).strings()).toEqual(cids.map(c => c.toString()))
    expect(CidList.fromBytes(new Uint8Array(0)).length).toBe(0)
    expect(() => CidList.fromBytes(bytes.subarray(0, bytes.byteLength - 5))).toThrow()
  })

  it('packs file roots in 36 bytes each', () => {
    const many = Array.from({ length: 20_000 }, (_, k) => rawLeafCid(digest(k)))
    const list = CidList.of(many)
    expect(list.toBytes().byteLength).toBe(20_000 * 36)
    expect(list.stringAt(12_345)).toBe(many[12_345]?.toString())
  })
})
