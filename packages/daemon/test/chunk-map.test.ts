/**
 * Chunk maps: binning (1 chunk per cell up to 1024 chunks, then powers of
 * two of at least 8, counted by popcount), in-flight and sender counts, the
 * live feed's deltas, and the maps a node gives through the embedding API
 * for a download, a paused one and a share.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { Bitfield, MAX_CHUNK_MAP_CELLS, cellChunks, chunksPerCell } from '@shoal/protocol'
import type { ChunkMap, LiveEvent } from '@shoal/protocol'
import { ChunkSenders, LiveChunkMaps, chunkMapOf, wantedPerCell } from '../src/transfer/download/chunk-map.js'
import { LiveFeed, changedCells } from '../src/control/live-feed.js'
import { startNode, tempDir } from './helpers.js'

function bits (size: number, held: Iterable<number>): Bitfield {
  const b = new Bitfield(size)
  for (const i of held) b.set(i)
  return b
}

describe('chunk map binning', () => {
  it('one chunk per cell up to the maximum, then powers of two from 8, never more cells than the maximum', () => {
    expect(chunksPerCell(0)).toBe(1)
    expect(chunksPerCell(1)).toBe(1)
    expect(chunksPerCell(MAX_CHUNK_MAP_CELLS)).toBe(1)
    expect(chunksPerCell(MAX_CHUNK_MAP_CELLS + 1)).toBe(8)
    expect(chunksPerCell(8 * MAX_CHUNK_MAP_CELLS)).toBe(8)
    expect(chunksPerCell(8 * MAX_CHUNK_MAP_CELLS + 1)).toBe(16)
    for (const n of [1025, 4096, 100_000, 1_048_576, 3_000_001]) {
      const per = chunksPerCell(n)
      expect(Math.ceil(n / per)).toBeLessThanOrEqual(MAX_CHUNK_MAP_CELLS)
      expect(per % 8).toBe(0)
    }
    expect(cellChunks({ chunks: 20, chunksPerCell: 8 }, 2)).toEqual({ first: 16, count: 4 })
  })

  it('counts held chunks per cell, one per cell and binned (popcount), short last cell included', () => {
    const small = chunkMapOf({ cid: 'x', have: bits(5, [0, 3]), running: false })
    expect(small.cells.map(c => c.held)).toEqual([1, 0, 0, 1, 0])
    expect(small.cells.every(c => c.wanted === 1 && c.inFlight === 0)).toBe(true)
    const n = 8 * MAX_CHUNK_MAP_CELLS + 13 // 16 per cell, last cell 13 + 8·… chunks
    const held = [0, 1, 15, 16, 17, n - 1]
    const big = chunkMapOf({ cid: 'x', have: bits(n, held), running: true })
    expect(big.chunksPerCell).toBe(16)
    expect(big.cells).toHaveLength(Math.ceil(n / 16))
    expect(big.cells[0]?.held).toBe(3)
    expect(big.cells[1]?.held).toBe(2)
    expect(big.cells.at(-1)).toMatchObject({ held: 1, wanted: n - 16 * (big.cells.length - 1) })
    expect(big.cells.reduce((s, c) => s + c.held, 0)).toBe(held.length)
    expect(big.cells.reduce((s, c) => s + c.wanted, 0)).toBe(n)
  })

  it('counts a chunk in flight once (end-game duplicates), and not once held', () => {
    const map = chunkMapOf({ cid: 'x', have: bits(10, [2]), running: true, inFlight: [3, 3, 4, 2, 99, -1] })
    expect(map.cells.map(c => c.inFlight)).toEqual([0, 0, 0, 1, 1, 0, 0, 0, 0, 0])
  })

  it('says who sent what, per cell, with one peer table', () => {
    const senders = new ChunkSenders(3000) // 8 per cell
    senders.sent(0, 'peerA')
    senders.sent(1, 'peerB')
    senders.sent(2, 'peerA')
    senders.sent(8, 'peerB')
    const map = chunkMapOf({ cid: 'x', have: bits(3000, [0, 1, 2, 3, 8]), running: true, senders })
    expect(map.peers).toEqual(['peerA', 'peerB'])
    expect(map.cells[0]).toMatchObject({ held: 4, from: [[0, 2], [1, 1]] }) // chunk 3 was held before
    expect(map.cells[1]).toMatchObject({ held: 1, from: [[1, 1]] })
  })

  it('counts wanted chunks per cell for a selection', () => {
    expect(wantedPerCell(10, undefined)).toBeUndefined()
    const wanted = wantedPerCell(10, i => i >= 6)
    const map = chunkMapOf({ cid: 'x', have: bits(10, [6]), running: true, ...(wanted !== undefined ? { wanted } : {}) })
    expect(map.cells.map(c => c.wanted)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
  })

  it('keeps one map per running download; a stale remover leaves a newer run alone', () => {
    const maps = new LiveChunkMaps()
    const m1 = chunkMapOf({ cid: 'a', have: bits(1, []), running: true })
    const m2 = chunkMapOf({ cid: 'a', have: bits(1, [0]), running: true })
    const remove1 = maps.add('a', () => m1)
    const remove2 = maps.add('a', () => m2)
    remove1()
    expect(maps.get('a')).toBe(m2)
    remove2()
    expect(maps.get('a')).toBeUndefined()
  })
})

describe('the live feed', () => {
  it('sends changed cells only', () => {
    const a = chunkMapOf({ cid: 'x', have: bits(4, [0]), running: true })
    const b = chunkMapOf({ cid: 'x', have: bits(4, [0, 2]), running: true, inFlight: [3] })
    expect(changedCells(a, a)).toEqual([])
    expect(changedCells(a, b).map(([i]) => i)).toEqual([2, 3])
  })

  it('sends each topic whole once, then only what changed; a map whole, then its changed cells; then that it is gone', async () => {
    let chunksDone = 1
    let listed = true
    const map = (): ChunkMap => chunkMapOf({ cid: 'c1', have: bits(4, Array.from({ length: chunksDone }, (_, i) => i)), running: listed })
    const shoal = {
      status: async () => ({ peerId: 'me' }) as never,
      peers: async () => [],
      list: async () => ({ shares: [], downloads: listed ? [{ cid: 'c1', state: 'active', chunksDone }] : [] }) as never,
      chunkMap: async () => map()
    }
    const feed = new LiveFeed(shoal, Object.assign(() => {}, { enabled: false, error: () => {}, trace: () => {} }) as never)
    const events: LiveEvent[] = []
    let closed: () => void = () => {}
    const res = {
      writeHead: () => {},
      write: (text: string) => { const m = /^event: .*\ndata: (.*)\n\n$/.exec(text); if (m !== null) events.push(JSON.parse(m[1] as string) as LiveEvent); return true },
      once: (_e: string, fn: () => void) => { closed = fn },
      writableLength: 0,
      destroyed: false
    } as unknown as http.ServerResponse
    const req = { socket: { setNoDelay: () => {} } } as unknown as http.IncomingMessage
    feed.serve(req, res)
    const next = async (type: LiveEvent['type']): Promise<LiveEvent> => {
      for (let i = 0; i < 200; i++) {
        const at = events.findIndex(e => e.type === type)
        if (at >= 0) return events.splice(at, 1)[0] as LiveEvent
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      throw new Error(`no ${type} event; got ${events.map(e => e.type).join(', ')}`)
    }
    expect(await next('status')).toMatchObject({ status: { peerId: 'me' } })
    expect(await next('ls')).toMatchObject({ downloads: [{ cid: 'c1' }] })
    expect(await next('chunks')).toMatchObject({ map: { cid: 'c1', cells: [{ held: 1 }, { held: 0 }, { held: 0 }, { held: 0 }] } })
    chunksDone = 3
    const delta = await next('chunks-delta')
    expect(delta).toMatchObject({ cid: 'c1', cells: [[1, { held: 1 }], [2, { held: 1 }]] })
    listed = false
    expect(await next('chunks-gone')).toEqual({ type: 'chunks-gone', cid: 'c1' })
    expect(events.filter(e => e.type === 'status')).toHaveLength(0) // unchanged: not sent again
    closed()
    feed.stop()
  })
})

describe('chunk maps through the embedding API', () => {
  it('of a download and of a share; NOT_FOUND otherwise; uiAccess needs a gateway', async () => {
    const dir = await tempDir()
    const seeder = await startNode(dir, 'seeder')
    const fetcher = await startNode(dir, 'fetcher')
    try {
      const file = path.join(dir, 'data.bin')
      await fs.writeFile(file, randomBytes(5 * 1024 * 1024 + 1))
      const { cid, ticket } = await seeder.share(file)
      const shared = await seeder.chunkMap(cid)
      expect(shared).toMatchObject({ cid, chunks: 6, chunksPerCell: 1, running: false })
      expect(shared.cells.every(c => c.held === 1)).toBe(true)
      await expect(fetcher.chunkMap(cid)).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await expect(fetcher.chunkMap('nonsense')).rejects.toMatchObject({ code: 'INVALID_ID' })
      // as soon as it runs, the map is the download's own: live, nothing held yet but what it got
      const started = await fetcher.startFetch(ticket, { out: path.join(dir, 'out.bin') })
      const first = await fetcher.chunkMap(cid).catch(async () => await fetcher.chunkMap(cid))
      expect(first).toMatchObject({ cid, chunks: 6 })
      expect(first.peers.every(p => p === seeder.peerId)).toBe(true)
      expect(started.cid).toBe(cid)
      // then, finished, it is a share: every chunk held
      // attach until it ends (one that ended already left its output: PATH_EXISTS)
      await fetcher.fetch(ticket, { out: path.join(dir, 'out.bin') }).catch((err: { code?: string }) => { if (err.code !== 'PATH_EXISTS') throw err })
      const done = await fetcher.chunkMap(cid)
      expect(done.running).toBe(false)
      expect(done.cells.every(c => c.held === 1)).toBe(true)
      await expect(fetcher.uiAccess()).rejects.toMatchObject({ code: 'UI_UNAVAILABLE' })
    } finally {
      await Promise.all([seeder.stop(), fetcher.stop()])
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
