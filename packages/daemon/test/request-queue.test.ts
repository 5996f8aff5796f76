import { describe, expect, it } from 'vitest'
import { ErrorCode } from '@shoal/protocol'
import { RequestQueue } from '../src/transfer/upload/request-queue.js'
import type { BatchPolicy } from '../src/transfer/upload/request-queue.js'

/** Chunks below `shortBelow` are `short` bytes long (packable), the rest full; `sent` were uploaded before; `refused` are not servable. */
function policy (opts: { shortBelow?: number, short?: number, sent?: number[], refused?: number[] } = {}): BatchPolicy {
  const { shortBelow = 0, short = 100, sent = [], refused = [] } = opts
  return {
    fresh: i => !sent.includes(i),
    servable: i => !refused.includes(i),
    packable: i => i < shortBelow ? short : undefined
  }
}

function drain (q: RequestQueue, p: BatchPolicy): Array<[number, number, boolean]> {
  const out: Array<[number, number, boolean]> = []
  for (let b = q.take(p); b !== undefined; b = q.take(p)) out.push([b.first, b.count, b.servable])
  return out
}

describe('RequestQueue', () => {
  it('answers full chunks one by one, the first queued run whose next chunk was never sent first', () => {
    const q = new RequestQueue(100, 1000)
    for (const i of [0, 1, 5]) q.add(i, 1)
    expect(drain(q, policy({ sent: [0] }))).toEqual([[1, 1, true], [5, 1, true], [0, 1, true]])
    // a run of full chunks is served in order, one BLOCK each
    q.add(10, 3)
    expect(drain(q, policy())).toEqual([[10, 1, true], [11, 1, true], [12, 1, true]])
    expect(q.size).toBe(0)
  })

  it('packs consecutive short chunks up to the byte limit, all servable or all refused', () => {
    const q = new RequestQueue(100, 350)
    q.add(0, 10)
    expect(drain(q, policy({ shortBelow: 8, refused: [4, 5] }))).toEqual([
      [0, 3, true], [3, 1, true], [4, 2, false], [6, 2, true], [8, 1, true], [9, 1, true]
    ])
  })

  it('cancels single chunks out of queued runs and reports those it did not hold', () => {
    const q = new RequestQueue(100, 10_000)
    q.add(0, 10)
    expect(q.cancel(3, 2)).toEqual([])
    expect(q.cancel(9, 3)).toEqual([10, 11])
    expect(q.size).toBe(7)
    expect(drain(q, policy({ shortBelow: 100 }))).toEqual([[0, 3, true], [5, 4, true]])
  })

  it('names the queued chunks in a range, each once, however wide the range', () => {
    const q = new RequestQueue(100, 10_000)
    q.add(5, 3)
    q.add(6, 2)
    q.add(900_000, 1)
    expect(q.queuedIn(0, 1_000_000)).toEqual([5, 6, 7, 900_000])
    expect(q.queuedIn(6, 1)).toEqual([6])
    expect(q.queuedIn(8, 100)).toEqual([])
  })

  it('is bounded in chunks: a request past the limit is a protocol error', () => {
    const q = new RequestQueue(10, 1000)
    q.add(0, 6)
    expect(() => { q.add(0, 5) }).toThrow(expect.objectContaining({ code: ErrorCode.PROTOCOL_ERROR }))
    q.add(0, 4)
    expect(q.size).toBe(10)
  })
})
