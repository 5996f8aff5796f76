/**
 * A UnixFS fetch's DagDownload under a download cap, with a stub Bitswap
 * client, a stub tree and a hand-driven cap: a want goes out only once the
 * cap made room for the size its parent gave; the block's real size is
 * charged when it comes; room made for a want that never went out is given
 * back when its provider goes.
 */
import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Logger, PeerId } from '@libp2p/interface'
import { DagDownload } from '../src/ipfs/fetch/dag-download.js'
import type { Reservation } from '../src/ipfs/fetch/dag-download.js'
import type { BitswapClient } from '../src/ipfs/fetch/bitswap-client.js'
import type { UnixfsTree } from '../src/ipfs/fetch/unixfs-tree.js'

async function leaf (n: number): Promise<{ key: string, cid: CID }> {
  return { key: `k${n}`, cid: CID.createV1(0x55, await sha256.digest(Uint8Array.of(n))) }
}

/** A turn of the event loop: DagDownload schedules its wants on setImmediate. */
async function turn (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}

interface Room { peer: string, bytes: number, cancelled: boolean, let: () => void }

function setup (): { download: DagDownload, wants: string[][], cancels: string[][], rooms: Room[], peer: PeerId } {
  const wants: string[][] = []
  const cancels: string[][] = []
  const rooms: Room[] = []
  const client = {
    add: () => {},
    remove: () => {},
    want: async (_peer: PeerId, cids: CID[]) => { wants.push(cids.map(c => c.toString())) },
    cancel: (_peer: PeerId, cids: CID[]) => { cancels.push(cids.map(c => c.toString())) }
  } as unknown as BitswapClient
  const tree = { complete: false, root: CID.parse('bafkqaaa'), onBlock: async () => {} } as unknown as UnixfsTree
  const log = Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {}, newScope: () => log }) as unknown as Logger
  const pace = (peer: PeerId, bytes: number): Reservation => {
    let release = (): void => {}
    const room: Room = { peer: peer.toString(), bytes, cancelled: false, let: () => { release() } }
    rooms.push(room)
    return { ready: bytes === 0 ? Promise.resolve() : new Promise<void>(resolve => { release = resolve }), cancel: () => { room.cancelled = true; release() } }
  }
  const download = new DagDownload({ tree, client, log, pace, flush: async () => {} })
  const peer = { toString: () => 'peer-a', equals: () => false } as unknown as PeerId
  download.start()
  download.addProvider(peer)
  return { download, wants, cancels, rooms, peer }
}

/** Want leaf `n`, which its parent says is `size` bytes. */
async function wantLeaf (download: DagDownload, n: number, size = 1000): Promise<{ key: string, cid: CID }> {
  const block = await leaf(n)
  download.want({ ...block, structure: false, size })
  return block
}

describe('DagDownload under a download cap', () => {
  it('sends a want only once there is room for its size, and charges the block as it came', async () => {
    const { download, wants, rooms, peer } = setup()
    try {
      const a = await wantLeaf(download, 1)
      await turn()
      expect(rooms.map(r => r.bytes)).toEqual([1000])
      expect(wants).toEqual([])
      rooms[0]?.let()
      await turn()
      expect(wants).toEqual([[a.cid.toString()]])
      // a bigger block than its parent said: the room made is given back, the real size taken
      download.onBlock(peer, a.key, new Uint8Array(1500))
      expect(rooms[0]?.cancelled).toBe(true)
      expect(rooms.at(-1)?.bytes).toBe(1500)
    } finally {
      await download.abort(new Error('test over'))
    }
  })

  it('gives back the room of wants held back when their provider goes, and cancels only what went out', async () => {
    const { download, wants, cancels, rooms, peer } = setup()
    try {
      const a = await wantLeaf(download, 1)
      await turn()
      rooms[0]?.let()
      await turn()
      download.onBlock(peer, a.key, new Uint8Array(1000))
      // the provider is a full session now: several wants, none let through yet
      const more = [await wantLeaf(download, 2), await wantLeaf(download, 3), await wantLeaf(download, 4)]
      await turn()
      const held = rooms.filter(r => r.bytes === 1000 && !r.cancelled).slice(-3)
      expect(held).toHaveLength(3)
      expect(wants).toHaveLength(1)
      download.onPeerGone(peer)
      expect(held.every(r => r.cancelled)).toBe(true)
      expect(cancels.flat()).not.toContain(more[0]?.cid.toString())
      // let through after all: nothing goes out to a provider that is gone
      for (const r of held) r.let()
      await turn()
      expect(wants).toHaveLength(1)
    } finally {
      await download.abort(new Error('test over'))
    }
  })
})
