/** The UnixFS fetch's block scheduler alone, with stub sessions and a step clock. */
import { describe, expect, it } from 'vitest'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockScheduler } from '../src/ipfs/fetch/block-scheduler.js'
import type { WantedBlock } from '../src/ipfs/fetch/block-scheduler.js'

async function block (n: number, structure = false): Promise<WantedBlock> {
  const cid = CID.createV1(structure ? 0x70 : 0x55, await sha256.digest(Uint8Array.of(n >> 8, n & 255)))
  return { key: `k${n}`, cid, structure }
}

function setup (init: ConstructorParameters<typeof BlockScheduler>[0] = {}): { s: BlockScheduler<string>, clock: { t: number } } {
  const clock = { t: 1_000 }
  return { s: new BlockScheduler<string>({ now: () => clock.t, ...init }), clock }
}

describe('BlockScheduler', () => {
  it('asks each block of one provider at a time, inner nodes before leaves', async () => {
    const { s } = setup({ endgameBlocks: 0 })
    for (let i = 0; i < 4; i++) s.want(await block(i))
    s.want(await block(10, true))
    const a = s.pick('a', 3).map(b => b.key)
    const b = s.pick('b', 3).map(b => b.key)
    expect(a).toEqual(['k10', 'k0', 'k1'])
    expect(b).toEqual(['k2', 'k3'])
    expect(new Set([...a, ...b]).size).toBe(5)
    expect(s.pick('c', 5)).toEqual([])
  })

  it('a DONT_HAVE sends the block to another provider, and not back to the refuser for a while', async () => {
    const { s, clock } = setup({ notFoundRetryMs: 1_500 })
    s.want(await block(1))
    expect(s.pick('a', 1).map(b => b.key)).toEqual(['k1'])
    s.refused('a', 'k1')
    expect(s.pick('a', 1)).toEqual([])
    expect(s.allRefused(['a'])).toBe(true)
    expect(s.pick('b', 1).map(b => b.key)).toEqual(['k1'])
    s.refused('b', 'k1')
    clock.t += 1_501
    expect(s.pick('a', 1).map(b => b.key)).toEqual(['k1'])
  })

  it('a failed request goes back first in line, and counts toward giving up', async () => {
    const { s } = setup({ maxAttempts: 2 })
    for (let i = 0; i < 3; i++) s.want(await block(i))
    expect(s.pick('a', 1).map(b => b.key)).toEqual(['k0'])
    s.unrequest('a', 'k0', true)
    expect(s.exhausted()).toBeUndefined()
    expect(s.pick('b', 1).map(b => b.key)).toEqual(['k0'])
    s.unrequest('b', 'k0', true)
    expect(s.exhausted()?.key).toBe('k0')
  })

  it('a closed session puts back what it was asked for', async () => {
    const { s } = setup()
    for (let i = 0; i < 3; i++) s.want(await block(i))
    s.pick('a', 3)
    expect(s.queued).toBe(0)
    s.removeSession('a')
    expect(s.queued).toBe(3)
    expect(s.pick('b', 3)).toHaveLength(3)
  })

  it('end-game: the last blocks may go to a second provider, never a third; the loser is cancelled', async () => {
    const { s, clock } = setup({ endgameBlocks: 2 })
    for (let i = 0; i < 3; i++) s.want(await block(i))
    expect(s.pick('a', 3)).toHaveLength(3)
    // 3 missing > 2: no duplicates yet
    expect(s.pick('b', 3)).toEqual([])
    expect(s.received('k0', 'a')).toEqual([])
    clock.t += 10
    const dup = s.pick('b', 3).map(b => b.key)
    expect(dup.sort()).toEqual(['k1', 'k2'])
    expect(s.pick('c', 3)).toEqual([])
    expect(s.received('k1', 'b')).toEqual(['a'])
    expect(s.missing).toBe(1)
    expect(s.completed).toBe(2)
  })

  it('wanting a block twice queues it once', async () => {
    const { s } = setup()
    const b = await block(7)
    s.want(b)
    s.want(b)
    expect(s.missing).toBe(1)
    expect(s.pick('a', 5)).toHaveLength(1)
  })
})
