import { describe, expect, it } from 'vitest'
import { ENDGAME_CHUNKS, MAX_CHUNK_ATTEMPTS, NOT_FOUND_RETRY_MS } from '../src/constants.js'
import { createChunkPicker } from '../src/transfer/download/chunk-picker.js'
import type { ChunkPicker, ChunkPickerInit, PickerSession } from '../src/transfer/download/chunk-picker.js'

/** A peer session as the picker sees it: what it holds, and how often it was asked. */
class Stub implements PickerSession {
  hasCalls = 0
  private holds: Set<number> | 'all'

  constructor (readonly name: string, holds: Iterable<number> | 'all') {
    this.holds = holds === 'all' ? 'all' : new Set(holds)
  }

  get isSeed (): boolean {
    return this.holds === 'all'
  }

  has (index: number): boolean {
    this.hasCalls++
    return this.holds === 'all' || this.holds.has(index)
  }

  /** Gain one chunk; returns false when already held. */
  gain (index: number): boolean {
    if (this.holds === 'all' || this.holds.has(index)) return false
    this.holds.add(index)
    return true
  }

  /** Gain everything; returns what was held before. */
  complete (): { has(index: number): boolean } {
    const before = this.holds === 'all' ? 'all' : new Set(this.holds)
    this.holds = 'all'
    return { has: i => before === 'all' || before.has(i) }
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i)

/** A picker whose random start is `start` exactly. */
function picker (chunkCount: number, init: Partial<ChunkPickerInit> & { start?: number } = {}): ChunkPicker<Stub> {
  const { start = 0, ...rest } = init
  return createChunkPicker<Stub>({ chunkCount, random: () => chunkCount === 0 ? 0 : (start + 0.5) / chunkCount, ...rest })
}

function withSessions (p: ChunkPicker<Stub>, ...sessions: Stub[]): Stub[] {
  for (const s of sessions) p.addSession(s)
  return sessions
}

describe('ChunkPicker', () => {
  it('asks leechers for what they have and a seed only for what no partial holder has', () => {
    const p = picker(12)
    const [seed, a, b, c] = withSessions(p, new Stub('seed', 'all'), new Stub('a', [0, 1, 2]), new Stub('b', [3, 4]), new Stub('c', [0, 5])) as [Stub, Stub, Stub, Stub]
    // the seed first, with room for everything: it still gets only 6..11
    expect(p.pick(seed, 12)).toEqual([6, 7, 8, 9, 10, 11])
    // chunk 0 is held by two leechers: the rarer 1 and 2 go first
    expect(p.pick(a, 12)).toEqual([1, 2, 0])
    expect(p.pick(b, 12)).toEqual([3, 4])
    expect(p.pick(c, 12)).toEqual([5])
    // everything is asked of someone; 12 missing is no end-game
    for (const s of [seed, a, b, c]) expect(p.pick(s, 12)).toEqual([])
  })

  it('asks the seed for a leecher\'s chunk once that leecher is gone', () => {
    const p = picker(4)
    const [seed, a] = withSessions(p, new Stub('seed', 'all'), new Stub('a', [0, 1]))
    expect(p.pick(seed!, 4)).toEqual([2, 3])
    p.removeSession(a!)
    expect(p.pick(seed!, 4)).toEqual([0, 1])
  })

  it('picks a rare chunk before common ones, then the common ones from the random start', () => {
    const p = picker(10, { start: 5 })
    const [rich] = withSessions(p, new Stub('rich', range(0, 10)), new Stub('x', range(0, 9)), new Stub('y', range(0, 9)), new Stub('seed', 'all'))
    // 9 is held by one leecher; the rest by three, taken in order from 5
    expect(p.pick(rich!, 4)).toEqual([9, 5, 6, 7])
  })

  it('a seed alone takes each chunk once, in order from the random start, at every size', () => {
    // sizes around the bitset's word and level boundaries (32, 32², 32³ chunks)
    for (const n of [0, 1, 2, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 32 * 32 * 32 + 1]) {
      for (const start of new Set([0, Math.floor(n / 3), Math.max(0, n - 1)])) {
        const p = picker(n, { start })
        const [seed] = withSessions(p, new Stub('seed', 'all'))
        const all = [...range(start, n), ...range(0, start)]
        expect(p.pick(seed!, n + 10).join()).toBe(all.join())
      }
    }
  })

  it('with no chunks: picks nothing and reports nothing', () => {
    const p = picker(0)
    const [seed, leech] = withSessions(p, new Stub('seed', 'all'), new Stub('leech', []))
    expect(p.pick(seed!)).toEqual([])
    expect(p.pick(leech!)).toEqual([])
    expect(p.completed(0)).toEqual([])
    expect(p.exhausted()).toBeUndefined()
  })

  it('with one chunk: end-game at once, two sessions asked at most', () => {
    const p = picker(1)
    const [a, b, c] = withSessions(p, new Stub('a', 'all'), new Stub('b', 'all'), new Stub('c', 'all'))
    expect(p.pick(a!)).toEqual([0])
    expect(p.pick(a!)).toEqual([])
    expect(p.pick(b!)).toEqual([0])
    expect(p.pick(c!)).toEqual([])
    expect(new Set(p.completed(0))).toEqual(new Set([a, b]))
    expect(p.pick(c!)).toEqual([])
  })

  it('end-game: near the end a chunk in flight at one session is asked of a second, never a third', () => {
    const n = 10
    const missing = range(n - ENDGAME_CHUNKS, n)
    const p = picker(n, { have: { has: i => !missing.includes(i) } })
    const [a, b, c] = withSessions(p, new Stub('a', 'all'), new Stub('b', 'all'), new Stub('c', 'all'))
    expect(p.pick(a!, 2)).toEqual(missing.slice(0, 2))
    // b takes the rest, then duplicates what is in flight at a, oldest first
    expect(p.pick(b!, 8)).toEqual([...missing.slice(2), ...missing.slice(0, 2)])
    expect(p.pick(a!, 8)).toEqual(missing.slice(2))
    // every missing chunk is in flight at two sessions: none for a third
    expect(p.pick(c!, 8)).toEqual([])
    // a gave up one: c may be asked for it now
    p.unrequest(a!, missing[0]!)
    expect(p.pick(c!, 8)).toEqual([missing[0]])
    // one arrives: the others asked for it are to be withdrawn
    expect(new Set(p.completed(missing[0]!))).toEqual(new Set([b, c]))
    expect(p.pick(c!, 8)).toEqual([])
  })

  it('no end-game while more than ENDGAME_CHUNKS chunks are missing', () => {
    const n = 10
    const missing = range(n - ENDGAME_CHUNKS - 1, n)
    const p = picker(n, { have: { has: i => !missing.includes(i) } })
    const [a, b] = withSessions(p, new Stub('a', 'all'), new Stub('b', 'all'))
    expect(p.pick(a!, 10)).toEqual(missing)
    expect(p.pick(b!, 10)).toEqual([])
    // one arrives: now there is
    p.completed(missing[0]!)
    expect(p.pick(b!, 10)).toEqual(missing.slice(1))
  })

  it('does not ask a session again for a chunk it refused until the retry time passed', () => {
    let now = 1_000_000
    const p = picker(6, { now: () => now })
    const [seed] = withSessions(p, new Stub('seed', 'all'))
    expect(p.pick(seed!)).toEqual([0])
    p.refused(seed!, 0)
    expect(p.pick(seed!, 2)).toEqual([1, 2])
    now += NOT_FOUND_RETRY_MS - 1
    expect(p.pick(seed!)).toEqual([3])
    now += 1
    expect(p.pick(seed!)).toEqual([0])
  })

  it('a refusal keeps only the session that refused from the chunk', () => {
    const p = picker(3, { now: () => 0 })
    const [a, b] = withSessions(p, new Stub('a', 'all'), new Stub('b', 'all'))
    expect(p.pick(a!)).toEqual([0])
    p.refused(a!, 0)
    expect(p.pick(b!)).toEqual([0])
  })

  it('moves a request from a seed to a leecher that just got the chunk', () => {
    const p = picker(4)
    const [seed, leech] = withSessions(p, new Stub('seed', 'all'), new Stub('leech', [3]))
    expect(p.pick(seed!, 2)).toEqual([0, 1])
    leech!.gain(1)
    p.onHave(leech!, 1)
    expect(p.moveFromSeeds(leech!, 1)).toEqual([seed])
    // moved once; never from a leecher
    expect(p.moveFromSeeds(leech!, 1)).toEqual([])
    expect(p.completed(1)).toEqual([leech])
  })

  it('a leecher that completes becomes a seed: spared for what others have', () => {
    const p = picker(4)
    const [a, b] = withSessions(p, new Stub('a', [0, 1]), new Stub('b', [2]))
    const previous = a!.complete()
    p.onHaveAll(a!, previous)
    // b has 2; 0, 1 and 3 are held by no partial holder now
    expect(p.pick(a!, 4)).toEqual([0, 1, 3])
    expect(p.pick(b!, 4)).toEqual([2])
  })

  it(`gives up on a chunk after ${MAX_CHUNK_ATTEMPTS} failures`, () => {
    const p = picker(2)
    const [seed] = withSessions(p, new Stub('seed', 'all'))
    for (let i = 1; i < MAX_CHUNK_ATTEMPTS; i++) {
      expect(p.pick(seed!)).toEqual([0])
      p.unrequest(seed!, 0)
      p.failed(0)
      expect(p.exhausted()).toBeUndefined()
    }
    expect(p.pick(seed!)).toEqual([0])
    p.unrequest(seed!, 0)
    p.failed(0)
    expect(p.exhausted()).toEqual({ index: 0, attempts: MAX_CHUNK_ATTEMPTS })
    expect(p.pick(seed!, 2)).toEqual([1])
    // a late block still completes it
    p.completed(0)
    expect(p.exhausted()).toBeUndefined()
  })

  it('a chunk reopened after a failed re-verification is wanted again', () => {
    const p = picker(3, { have: { has: i => i !== 2 } })
    const [seed] = withSessions(p, new Stub('seed', 'all'))
    p.reopen(0)
    expect(p.pick(seed!, 3)).toEqual([0, 2])
  })

  describe('cost of a pick (100,000 chunks)', () => {
    const n = 100_000

    it('99% held: a seed looks at one chunk per pick, a leecher at the wanted chunks of its buckets only', () => {
      const wanted = range(0, n).filter(i => i % 100 === 37)
      const p = picker(n, { start: 12_345, have: { has: i => i % 100 !== 37 } })
      // the leecher holds the last wanted chunk in scan order only
      const last = wanted.filter(i => i < 12_345).at(-1)!
      const [seed, leech] = withSessions(p, new Stub('seed', 'all'), new Stub('leech', [last]))
      seed!.hasCalls = leech!.hasCalls = 0
      let scanned = p.scanned
      expect(p.pick(leech!)).toEqual([last])
      // it looked in bucket 1 only (the chunks partial holders have), never at held chunks
      expect(leech!.hasCalls).toBe(1)
      expect(p.scanned - scanned).toBe(1)
      scanned = p.scanned
      const picked: number[] = []
      for (let i = 0; i < wanted.length; i++) picked.push(...p.pick(seed!))
      expect(picked.length).toBe(wanted.length - 1)
      // a seed: one chunk looked at per pick, and nothing when nothing is left
      expect(seed!.hasCalls).toBe(wanted.length - 1)
      expect(p.scanned - scanned).toBe(wanted.length - 1)
    })

    it('99% requested: picks look at what is still wanted, not at what is in flight', () => {
      const p = picker(n, { start: 777 })
      const [seed] = withSessions(p, new Stub('seed', 'all'))
      let inFlight = 0
      for (let i = 0; i < n * 0.99 / 33; i++) inFlight += p.pick(seed!, 33).length
      expect(inFlight).toBe(n * 0.99)
      const left = n / 100
      // a leecher holding only the last wanted chunk in scan order
      const order = [...range(777, n), ...range(0, 777)]
      const last = order.at(-1)!
      const leech = new Stub('leech', [last])
      const other = new Stub('other', 'all')
      withSessions(p, leech, other)
      leech.hasCalls = 0
      let scanned = p.scanned
      expect(p.pick(leech)).toEqual([last])
      // its one chunk is alone in bucket 1: found at once
      expect(leech.hasCalls).toBe(1)
      expect(p.scanned - scanned).toBe(1)
      // a second seed: one look per pick for the rest
      scanned = p.scanned
      other.hasCalls = 0
      let got = 0
      for (let i = 0; i < left - 1; i++) got += p.pick(other).length
      expect(got).toBe(left - 1)
      expect(other.hasCalls).toBe(left - 1)
      expect(p.scanned - scanned).toBe(left - 1)
    })

    it('two leechers holding different halves: each wanted chunk is looked at about once per leecher', () => {
      const p = picker(n, { start: 0 })
      const [early, late] = withSessions(p, new Stub('early', range(0, n / 2)), new Stub('late', range(n / 2, n)))
      early!.hasCalls = late!.hasCalls = 0
      const scanned = p.scanned
      let got = 0
      // windows of 8, refilled alternately, as a download does
      for (let round = 0; round < n / 16; round++) {
        got += p.pick(late!, 8).length
        got += p.pick(early!, 8).length
      }
      expect(got).toBe(n)
      // without cursors the late leecher would look past the early half on every pick
      expect(early!.hasCalls + late!.hasCalls).toBeLessThanOrEqual(2 * n)
      expect(p.scanned - scanned).toBeLessThanOrEqual(2 * n)
    })
  })
})

// ---- the picker against the algorithm it replaced

/** Download's picking before ChunkPicker: a scan of the whole file per pick. */
class Reference {
  readonly availability: number[]
  readonly counted = new Set<Stub>()
  readonly sessions = new Set<Stub>()
  readonly requested = new Map<number, Set<Stub>>()
  readonly lacks = new Map<Stub, Map<number, number>>()
  readonly failures = new Map<number, number>()
  readonly done = new Set<number>()

  constructor (readonly n: number, readonly start: number, readonly now: () => number) {
    this.availability = new Array<number>(n).fill(0)
  }

  add (s: Stub): void {
    this.sessions.add(s)
    this.lacks.set(s, new Map())
    if (s.isSeed) return
    this.counted.add(s)
    for (let i = 0; i < this.n; i++) if (s.has(i)) this.availability[i]!++
  }

  remove (s: Stub): void {
    if (!this.sessions.delete(s)) return
    if (this.counted.delete(s)) for (let i = 0; i < this.n; i++) if (s.has(i)) this.availability[i] = Math.max(0, this.availability[i]! - 1)
    for (const index of [...this.requested.keys()]) this.unrequest(s, index)
  }

  have (s: Stub, index: number): void {
    if (this.counted.has(s)) this.availability[index]!++
    this.lacks.get(s)?.delete(index)
  }

  haveAll (s: Stub, previous: { has(i: number): boolean }): void {
    if (this.counted.delete(s)) for (let i = 0; i < this.n; i++) if (previous.has(i)) this.availability[i] = Math.max(0, this.availability[i]! - 1)
    this.lacks.get(s)?.clear()
  }

  unrequest (s: Stub, index: number): void {
    const set = this.requested.get(index)
    if (set === undefined) return
    set.delete(s)
    if (set.size === 0) this.requested.delete(index)
  }

  refused (s: Stub, index: number): void {
    this.unrequest(s, index)
    this.lacks.get(s)?.set(index, this.now() + NOT_FOUND_RETRY_MS)
  }

  failed (index: number): void {
    this.failures.set(index, (this.failures.get(index) ?? 0) + 1)
  }

  completed (index: number): Stub[] {
    this.done.add(index)
    const set = this.requested.get(index)
    this.requested.delete(index)
    return [...set ?? []]
  }

  moveFromSeeds (holder: Stub, index: number): Stub[] {
    const askedOf = this.requested.get(index)
    if (askedOf === undefined || askedOf.has(holder) || !this.sessions.has(holder)) return []
    const seeds = [...askedOf].filter(s => s.isSeed)
    if (seeds.length !== askedOf.size) return []
    for (const seed of seeds) askedOf.delete(seed)
    askedOf.add(holder)
    return seeds
  }

  exhausted (): { index: number, attempts: number } | undefined {
    for (const [index, attempts] of this.failures) if (attempts >= MAX_CHUNK_ATTEMPTS && !this.done.has(index)) return { index, attempts }
    return undefined
  }

  pick (s: Stub, max: number): number[] {
    const out: number[] = []
    if (!this.sessions.has(s)) return out
    while (out.length < max) {
      const index = this.pickFor(s) ?? this.pickEndgame(s)
      if (index === undefined) break
      let set = this.requested.get(index)
      if (set === undefined) { set = new Set(); this.requested.set(index, set) }
      set.add(s)
      out.push(index)
    }
    return out
  }

  private wanted (index: number, s: Stub): boolean {
    const lacks = this.lacks.get(s)!
    const until = lacks.get(index)
    if (until !== undefined) {
      if (until > this.now()) return false
      lacks.delete(index)
    }
    return !this.done.has(index) && s.has(index) && (this.failures.get(index) ?? 0) < MAX_CHUNK_ATTEMPTS
  }

  private pickFor (s: Stub): number | undefined {
    let best: number | undefined
    let bestAvail = Infinity
    const spare = s.isSeed && this.counted.size > 0
    for (let k = 0; k < this.n; k++) {
      const index = (this.start + k) % this.n
      if (this.requested.has(index) || !this.wanted(index, s)) continue
      if (spare && this.availability[index]! > 0) continue
      if (this.availability[index]! < bestAvail) { best = index; bestAvail = this.availability[index]! }
    }
    return best
  }

  private pickEndgame (s: Stub): number | undefined {
    if (this.n - this.done.size > ENDGAME_CHUNKS) return undefined
    for (const [index, askedOf] of this.requested) {
      if (askedOf.size >= 2 || askedOf.has(s) || !this.wanted(index, s)) continue
      return index
    }
    return undefined
  }
}

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('ChunkPicker against a whole-file scan', () => {
  it('picks exactly what the old scan picked, through random sessions, HAVEs, refusals, failures and completions', () => {
    for (let trial = 0; trial < 150; trial++) {
      const rand = prng(trial + 1)
      const int = (k: number): number => Math.floor(rand() * k)
      const n = [0, 1, 3, 5, 31, 33, 70][trial % 7]!
      const start = int(Math.max(1, n))
      let now = 0
      const have = new Set(range(0, n).filter(() => rand() < 0.3))
      const p = createChunkPicker<Stub>({ chunkCount: n, have: { has: i => have.has(i) }, random: () => (start + 0.5) / Math.max(1, n), now: () => now })
      const ref = new Reference(n, start, () => now)
      for (const i of have) ref.done.add(i)
      const sessions: Stub[] = []
      /** expect() only on a difference: it is slow for thousands of steps */
      const same = (step: number, op: string, got: unknown, wanted: unknown): void => {
        if (JSON.stringify(got) !== JSON.stringify(wanted)) expect(got, `trial ${trial}, step ${step}: ${op}`).toEqual(wanted)
      }
      for (let step = 0; step < 300; step++) {
        const live = sessions.filter(s => ref.sessions.has(s))
        const s = live[int(live.length)]
        const asked = s === undefined ? [] : [...ref.requested].filter(([, set]) => set.has(s)).map(([i]) => i)
        const index = asked[int(asked.length)]
        const op = int(12)
        if (op === 0 || live.length === 0) {
          if (live.length >= 6) continue
          const fresh = new Stub(`s${sessions.length}`, rand() < 0.3 ? 'all' : range(0, n).filter(() => rand() < 0.4))
          sessions.push(fresh)
          p.addSession(fresh)
          ref.add(fresh)
        } else if (op <= 3 && s !== undefined) {
          const max = 1 + int(4)
          same(step, `pick ${max} for ${s.name}`, p.pick(s, max), ref.pick(s, max))
        } else if (op === 4 && s !== undefined && index !== undefined) {
          // a block arrived and verified
          p.unrequest(s, index); ref.unrequest(s, index)
          same(step, `completed ${index}`, p.completed(index).map(x => x.name).sort(), ref.completed(index).map(x => x.name).sort())
        } else if (op === 5 && s !== undefined && index !== undefined) {
          // timed out
          p.unrequest(s, index); ref.unrequest(s, index)
          p.failed(index); ref.failed(index)
        } else if (op === 6 && s !== undefined && index !== undefined) {
          p.refused(s, index); ref.refused(s, index)
        } else if (op === 7 && s !== undefined && n > 0) {
          // a seed's HAVE changes nothing but ending a refusal
          const gained = s.isSeed && asked.length === 0 ? [...ref.lacks.get(s)?.keys() ?? []][0] ?? int(n) : int(n)
          if (!s.gain(gained) && !s.isSeed) continue
          p.onHave(s, gained); ref.have(s, gained)
          same(step, `move ${gained} to ${s.name}`, p.moveFromSeeds(s, gained).map(x => x.name), ref.moveFromSeeds(s, gained).map(x => x.name))
        } else if (op === 8 && s !== undefined && !s.isSeed && rand() < 0.2) {
          const previous = s.complete()
          p.onHaveAll(s, previous); ref.haveAll(s, previous)
        } else if (op === 9 && s !== undefined && rand() < 0.3) {
          p.removeSession(s); ref.remove(s)
        } else if (op === 10) {
          now += int(NOT_FOUND_RETRY_MS)
        } else if (op === 11) {
          same(step, 'exhausted', p.exhausted(), ref.exhausted())
        }
      }
    }
  })

  it('bounds a pick in bytes: short chunks fill it, and a chunk that does not fit ends it', () => {
    // chunks 0..9 are 100 bytes, 10..11 are 1000
    const lengthOf = (i: number): number => i < 10 ? 100 : 1000
    const p = picker(12, { lengthOf })
    const [seed] = withSessions(p, new Stub('seed', 'all')) as [Stub]
    expect(p.pick(seed, 100, 450)).toEqual([0, 1, 2, 3])
    expect(p.pick(seed, 100, 1500)).toEqual([4, 5, 6, 7, 8, 9])
    // 10 does not fit in 999 bytes: nothing is taken, and the next pick starts there
    expect(p.pick(seed, 100, 999)).toEqual([])
    expect(p.pick(seed, 1, 5000)).toEqual([10])
    expect(p.pick(seed, 100, 1000)).toEqual([11])
  })
})
