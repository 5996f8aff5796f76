import { describe, expect, it } from 'vitest'
import { Bitfield, ChunkLayout } from '@shoal/protocol'
import type { Manifest } from '@shoal/protocol'
import { createChunkPicker } from '../src/transfer/download/chunk-picker.js'
import type { PickerSession } from '../src/transfer/download/chunk-picker.js'
import { Demand } from '../src/transfer/download/demand.js'
import { withPriority } from '../src/transfer/download/priority-picker.js'
import { Wants } from '../src/transfer/download/wants.js'

class Stub implements PickerSession {
  constructor (readonly name: string, private readonly holds: Set<number> | 'all') {}
  get isSeed (): boolean { return this.holds === 'all' }
  has (i: number): boolean { return this.holds === 'all' || this.holds.has(i) }
}

const seed = (): Stub => new Stub('seed', 'all')

/** A layout of files of `sizes` chunks each (chunk size 256 KiB). */
function layoutOf (...sizes: number[]): ChunkLayout {
  const chunkSize = 256 * 1024
  const manifest: Manifest = { version: 1, kind: 'dir', chunkSize, dirs: [], files: sizes.map((n, i) => ({ path: `f${i}`, size: n * chunkSize, hashes: new Uint8Array(32 * n) })) }
  return new ChunkLayout(manifest)
}

describe('ChunkPicker.claim', () => {
  it('asks a session for a wanted chunk out of turn, once', () => {
    const p = createChunkPicker<Stub>({ chunkCount: 10, random: () => 0 })
    const s = seed()
    const t = seed()
    p.addSession(s)
    p.addSession(t)
    expect(p.claim(s, 7)).toBe(true)
    expect(p.claim(t, 7)).toBe(false) // already asked of s
    expect(p.pick(s, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 8, 9])
    p.unrequest(s, 7)
    expect(p.claim(t, 7)).toBe(true) // wanted again
  })

  it('never claims what the session lacks, refused, or what is held', () => {
    const p = createChunkPicker<Stub>({ chunkCount: 4, have: { has: i => i === 0 }, random: () => 0, now: () => 0 })
    const a = new Stub('a', new Set([1, 2]))
    p.addSession(a)
    expect(p.claim(a, 0)).toBe(false)
    expect(p.claim(a, 3)).toBe(false)
    p.refused(a, 2)
    expect(p.claim(a, 2)).toBe(false)
    expect(p.claim(a, 1)).toBe(true)
  })
})

describe('a download with a priority window and a selection', () => {
  it('asks for a reader\'s window first, in order, then the rest rarest first', () => {
    const demand = new Demand(20)
    const p = withPriority(createChunkPicker<Stub>({ chunkCount: 20, random: () => 0 }), demand)
    const s = seed()
    p.addSession(s)
    demand.attach()
    demand.cover([12, 13, 14])
    expect(p.pick(s, 5)).toEqual([12, 13, 14, 0, 1])
    demand.cover([15])
    expect(p.pick(s, 2)).toEqual([15, 2])
  })

  it('a request of a window chunk that times out goes first again', () => {
    const demand = new Demand(8)
    const p = withPriority(createChunkPicker<Stub>({ chunkCount: 8, random: () => 0 }), demand)
    const s = seed()
    p.addSession(s)
    demand.cover([5])
    expect(p.pick(s, 1)).toEqual([5])
    p.unrequest(s, 5)
    p.failed(5)
    expect(p.pick(s, 1)).toEqual([5])
  })

  it('chunks of unselected files are never asked for; demanded ones are, and dropped again when no window covers them', () => {
    const layout = layoutOf(2, 3, 2) // f0: 0-1, f1: 2-4, f2: 5-6
    const have = new Bitfield(layout.chunkCount)
    const demand = new Demand(layout.chunkCount)
    const wants = new Wants(layout, new Set([1]), demand)
    const picker = withPriority(createChunkPicker<Stub>({ chunkCount: layout.chunkCount, have: wants.pickerHave(have), random: () => 0 }), demand)
    let changed = 0
    wants.bind({ picker, have, writing: new Set(), changed: () => { changed++ } })
    const s = seed()
    picker.addSession(s)
    expect(picker.pick(s, 10)).toEqual([2, 3, 4])
    demand.attach()
    demand.cover([6])
    expect(changed).toBe(1)
    expect(picker.pick(s, 10)).toEqual([6])
    demand.cover([0])
    demand.uncover([0]) // the reader moved on before it was asked for
    expect(picker.pick(s, 10)).toEqual([])
    expect(wants.missing(have)).toBe(true)
    for (const i of [2, 3, 4]) have.set(i)
    expect(wants.complete(have)).toBe(true) // a fetch run is done when its selection is held
    expect(wants.progress(have, 0)).toEqual({ size: 3 * 256 * 1024, received: 3 * 256 * 1024 })
  })

  it('a run for readers alone is done when nothing is demanded and no reader is attached', () => {
    const layout = layoutOf(4)
    const have = new Bitfield(layout.chunkCount)
    const demand = new Demand(layout.chunkCount)
    const wants = new Wants(layout, undefined, demand)
    expect(wants.complete(have)).toBe(true)
    demand.attach()
    expect(wants.complete(have)).toBe(false)
    demand.cover([1, 2])
    demand.uncover([1, 2], true) // the reader left; its read-ahead lingers until it arrives
    demand.detach()
    expect(wants.complete(have)).toBe(false)
    demand.held(1)
    demand.held(2)
    expect(wants.complete(have)).toBe(true)
  })
})

describe('chunks a reader is blocked on', () => {
  it('go before every read-ahead, a seek\'s chunk before another reader\'s window', () => {
    const demand = new Demand(40)
    const p = withPriority(createChunkPicker<Stub>({ chunkCount: 40, random: () => 0 }), demand)
    const s = seed()
    p.addSession(s)
    demand.cover([0, 1, 2, 3, 4, 5]) // a reader from the start, with its read-ahead
    demand.cover([38, 39]) // a player seeked to the end
    demand.urge(38)
    demand.urge(3)
    expect(p.pick(s, 3)).toEqual([3, 38, 0])
    demand.urge(20) // not demanded: nothing to urge
    expect(p.pick(s, 10)).toEqual([1, 2, 4, 5, 39, 6, 7, 8, 9, 10])
  })
})
