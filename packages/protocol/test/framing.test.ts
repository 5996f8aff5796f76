import { describe, it, expect } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import {
  MAX_MANIFEST_FRAME_BYTES, MAX_XFER_FRAME_BYTES, ShoalError, XferMessage, decodeXfer, encodeXfer, frame, readFrames
} from '../src/index.js'
import { concat, expectShoalErrorAsync, varint } from './helpers.js'

async function collect (source: Iterable<Uint8Array | Uint8ArrayList> | AsyncIterable<Uint8Array | Uint8ArrayList>, max: number): Promise<number[][]> {
  const out: number[][] = []
  for await (const f of readFrames(source, max)) out.push(Array.from(f.subarray()))
  return out
}

async function * asAsync<T> (items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item
}

const payloads: Uint8Array[] = [
  new Uint8Array(0),
  Uint8Array.of(0x2a),
  new TextEncoder().encode('hello, shoal'),
  new Uint8Array(127).map((_, i) => i),
  new Uint8Array(128).map((_, i) => 255 - i), // first length needing a 2-byte varint
  new Uint8Array(0)
]
const stream = concat(...payloads.map(p => frame(p).subarray()))
const expectedPayloads = payloads.map(p => Array.from(p))

describe('frame()', () => {
  it('prefixes the unsigned-varint length', () => {
    expect(Array.from(frame(Uint8Array.of(7, 8, 9)).subarray())).toEqual([3, 7, 8, 9])
    expect(Array.from(frame(new Uint8Array(0)).subarray())).toEqual([0])
    expect(Array.from(frame(new Uint8Array(300)).subarray().subarray(0, 2))).toEqual([0xac, 0x02])
    expect(frame(new Uint8Array(300)).byteLength).toBe(302)
  })
})

describe('readFrames', () => {
  it('reads back what frame() wrote, in one piece', async () => {
    expect(await collect([stream], 1000)).toEqual(expectedPayloads)
    expect(await collect(asAsync([stream]), 1000)).toEqual(expectedPayloads)
  })

  it('reads the same frames whatever boundary the bytes are split at', async () => {
    for (let i = 0; i <= stream.byteLength; i++) {
      const parts = [stream.subarray(0, i), stream.subarray(i)]
      expect(await collect(asAsync(parts), 1000)).toEqual(expectedPayloads)
    }
  })

  it('reads the same frames for every pair of split points (smaller stream)', async () => {
    const small = concat(...payloads.slice(0, 3).map(p => frame(p).subarray()), frame(new Uint8Array(130).fill(3)).subarray())
    const want = [...expectedPayloads.slice(0, 3), new Array(130).fill(3)]
    for (let i = 0; i <= small.byteLength; i += 1) {
      for (let j = i; j <= small.byteLength; j += 3) {
        const parts = [small.subarray(0, i), small.subarray(i, j), small.subarray(j)]
        expect(await collect(parts, 1000)).toEqual(want)
      }
    }
  })

  it('reads frames fed one byte at a time, and as Uint8ArrayLists', async () => {
    const bytes = Array.from(stream, b => Uint8Array.of(b))
    expect(await collect(asAsync(bytes), 1000)).toEqual(expectedPayloads)
    const lists = [new Uint8ArrayList(stream.subarray(0, 5), stream.subarray(5, 9)), new Uint8ArrayList(stream.subarray(9))]
    expect(await collect(lists, 1000)).toEqual(expectedPayloads)
  })

  it('an empty source yields nothing', async () => {
    expect(await collect([], 10)).toEqual([])
    expect(await collect([new Uint8Array(0)], 10)).toEqual([])
  })

  it('carries xfer messages end to end', async () => {
    const msgs = [
      encodeXfer({ type: XferMessage.Type.HELLO, root: Uint8Array.of(1, 2, 3) }),
      encodeXfer({ type: XferMessage.Type.REQUEST, index: 0 }),
      encodeXfer({ type: XferMessage.Type.BLOCK, index: 0, data: new Uint8Array(5000).fill(9) })
    ]
    const bytes = concat(...msgs.map(m => frame(m).subarray()))
    const parts = [bytes.subarray(0, 7), bytes.subarray(7, 2000), bytes.subarray(2000)]
    const types: string[] = []
    for await (const f of readFrames(asAsync(parts), MAX_XFER_FRAME_BYTES)) types.push(decodeXfer(f).type)
    expect(types).toEqual(['HELLO', 'REQUEST', 'BLOCK'])
  })

  it('accepts a frame of exactly the limit', async () => {
    const p = new Uint8Array(100).fill(1)
    expect(await collect([frame(p).subarray()], 100)).toEqual([Array.from(p)])
  })

  it('limit + 1 throws FRAME_TOO_LARGE', async () => {
    await expectShoalErrorAsync(() => collect([frame(new Uint8Array(101)).subarray()], 100), 'FRAME_TOO_LARGE')
  })

  it('frames before an oversized one are still delivered', async () => {
    const got: number[][] = []
    const bytes = concat(frame(Uint8Array.of(1)).subarray(), frame(new Uint8Array(11)).subarray())
    await expectShoalErrorAsync(async () => {
      for await (const f of readFrames([bytes], 10)) got.push(Array.from(f.subarray()))
    }, 'FRAME_TOO_LARGE')
    expect(got).toEqual([[1]])
  })

  for (const [name, max] of [['xfer', MAX_XFER_FRAME_BYTES], ['manifest', MAX_MANIFEST_FRAME_BYTES]] as const) {
    it(`${name} limit: a prefix declaring MAX+1 throws FRAME_TOO_LARGE from the prefix alone`, async () => {
      const prefix = varint(max + 1)
      await expectShoalErrorAsync(() => collect([prefix], max), 'FRAME_TOO_LARGE')
    })

    it(`${name} limit: FRAME_TOO_LARGE arrives while the source is still open (no waiting for data)`, async () => {
      let askedForMore = false
      async function * neverEnding (): AsyncGenerator<Uint8Array> {
        yield varint(max + 1)
        askedForMore = true
        await new Promise(() => {}) // the data never comes
      }
      const result = await Promise.race([
        collect(neverEnding(), max).then(() => 'ended' as const, (err: unknown) => err),
        new Promise<'timeout'>(resolve => setTimeout(() => resolve('timeout'), 1000))
      ])
      expect(result).toBeInstanceOf(ShoalError)
      expect((result as ShoalError).code).toBe('FRAME_TOO_LARGE')
      expect(askedForMore).toBe(false)
    })
  }

  it('a truncated frame throws PROTOCOL_ERROR', async () => {
    const f = frame(new Uint8Array(10).fill(5)).subarray()
    for (let cut = 1; cut < 10; cut++) {
      await expectShoalErrorAsync(() => collect([f.subarray(0, f.byteLength - cut)], 100), 'PROTOCOL_ERROR')
    }
    // after a good frame
    const got: number[][] = []
    await expectShoalErrorAsync(async () => {
      for await (const x of readFrames(asAsync([concat(frame(Uint8Array.of(1)).subarray(), f.subarray(0, 4))]), 100)) got.push(Array.from(x.subarray()))
    }, 'PROTOCOL_ERROR')
    expect(got).toEqual([[1]])
  })

  it('a stream that ends inside a multi-byte length prefix throws PROTOCOL_ERROR', async () => {
    await expectShoalErrorAsync(() => collect([Uint8Array.of(0x80)], 1000), 'PROTOCOL_ERROR')
    await expectShoalErrorAsync(() => collect([Uint8Array.of(0xac)], 1000), 'PROTOCOL_ERROR')
  })

  it('an over-long varint (10 bytes of 0xff) throws PROTOCOL_ERROR or FRAME_TOO_LARGE', async () => {
    const ff = new Uint8Array(10).fill(0xff)
    for (const source of [[ff], Array.from(ff, b => Uint8Array.of(b)), [concat(ff, new Uint8Array(100))]]) {
      let thrown: unknown
      try { await collect(asAsync(source), MAX_XFER_FRAME_BYTES) } catch (err) { thrown = err }
      expect(thrown).toBeInstanceOf(ShoalError)
      expect(['PROTOCOL_ERROR', 'FRAME_TOO_LARGE']).toContain((thrown as ShoalError).code)
    }
  })

  it('source errors pass through unchanged', async () => {
    const boom = new Error('socket reset')
    async function * failing (): AsyncGenerator<Uint8Array> {
      yield frame(Uint8Array.of(1)).subarray()
      throw boom
    }
    let thrown: unknown
    try { await collect(failing(), 10) } catch (err) { thrown = err }
    expect(thrown).toBe(boom)
  })
})
