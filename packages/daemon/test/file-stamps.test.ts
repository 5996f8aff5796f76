import { describe, expect, it } from 'vitest'
import { FileStamps } from '../src/storage/file-stamps.js'

describe('FileStamps', () => {
  it('keeps each size and mtime, fractional milliseconds and sizes past 2^32 included', () => {
    const stamps = FileStamps.of([{ size: 0, mtimeMs: 1764612345678.123 }, { size: 2 ** 40 + 7, mtimeMs: 1 }, { size: 5, mtimeMs: 0 }])
    expect(stamps.length).toBe(3)
    expect(stamps.at(0)).toEqual({ size: 0, mtimeMs: 1764612345678.123 })
    expect(stamps.at(1)).toEqual({ size: 2 ** 40 + 7, mtimeMs: 1 })
    expect(stamps.at(3)).toBeUndefined()
    expect(stamps.at(-1)).toBeUndefined()
  })

  it('reads back what toBytes wrote, from an unaligned copy too', () => {
    const stamps = FileStamps.sized(2)
    stamps.set(0, 10, 20.5)
    stamps.set(1, 30, 40)
    const bytes = stamps.toBytes()
    const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1)
    unaligned.set(bytes)
    const back = FileStamps.fromBytes(unaligned)
    expect([back.at(0), back.at(1)]).toEqual([{ size: 10, mtimeMs: 20.5 }, { size: 30, mtimeMs: 40 }])
    expect(FileStamps.fromBytes(bytes.subarray(0, 20)).length).toBe(1)
  })
})
