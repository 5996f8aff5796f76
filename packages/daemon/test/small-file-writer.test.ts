import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Uint8ArrayList } from 'uint8arraylist'
import { ErrorCode } from '@shoal/protocol'
import { SMALL_WRITE_BATCH, SMALL_WRITE_WORKERS } from '../src/constants.js'
import { SmallFileWriter } from '../src/storage/small-file-writer.js'

let dir: string
const writer = new SmallFileWriter()

beforeAll(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-small-')) })
afterAll(async () => {
  await writer.close()
  await fs.rm(dir, { recursive: true, force: true })
})

describe('SmallFileWriter', () => {
  it('creates and writes many files in batches, from single buffers and lists of pieces, empty ones too', async () => {
    const count = SMALL_WRITE_BATCH * 3 + 5
    await Promise.all(Array.from({ length: count }, async (_, i) => {
      const bytes = Uint8Array.from({ length: i % 7 === 0 ? 0 : 10 + i }, (_, j) => (i + j) & 0xff)
      const data = i % 2 === 0 ? bytes : new Uint8ArrayList(bytes.subarray(0, 3), bytes.subarray(3))
      await writer.write(path.join(dir, `f${i}`), 0, data)
    }))
    for (let i = 0; i < count; i++) {
      const expected = Uint8Array.from({ length: i % 7 === 0 ? 0 : 10 + i }, (_, j) => (i + j) & 0xff)
      expect(Buffer.compare(await fs.readFile(path.join(dir, `f${i}`)), expected)).toBe(0)
    }
  })

  it('writes at a position of an existing file, leaving the rest', async () => {
    const file = path.join(dir, 'existing')
    await fs.writeFile(file, Buffer.from('aaaaaaaaaa'))
    await writer.write(file, 4, Uint8Array.from(Buffer.from('BB')))
    expect((await fs.readFile(file)).toString()).toBe('aaaaBBaaaa')
  })

  it('fails a write whose directory is missing with a typed error, and the others in its batch still succeed', async () => {
    const results = await Promise.allSettled([
      writer.write(path.join(dir, 'ok1'), 0, Uint8Array.of(1)),
      writer.write(path.join(dir, 'missing', 'x'), 0, Uint8Array.of(2)),
      writer.write(path.join(dir, 'ok2'), 0, Uint8Array.of(3))
    ])
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.INVALID_PATH })
    expect(Array.from(await fs.readFile(path.join(dir, 'ok2')))).toEqual([3])
  })

  it('starts workers ahead of the writes it is told of, one per batch up to its limit, and they write', async () => {
    const fresh = new SmallFileWriter()
    try {
      fresh.warm(0)
      expect(fresh.workers).toBe(0)
      fresh.warm(1)
      expect(fresh.workers).toBe(1)
      fresh.warm(SMALL_WRITE_BATCH * 100)
      expect(fresh.workers).toBe(SMALL_WRITE_WORKERS)
      fresh.warm(SMALL_WRITE_BATCH * 100)
      expect(fresh.workers).toBe(SMALL_WRITE_WORKERS)
      await fresh.writeAll(Array.from({ length: SMALL_WRITE_BATCH * 2 }, (_, i) => ({ path: path.join(dir, `w${i}`), position: 0, data: Uint8Array.of(i & 0xff) })))
      expect(Array.from(await fs.readFile(path.join(dir, `w${SMALL_WRITE_BATCH + 1}`)))).toEqual([(SMALL_WRITE_BATCH + 1) & 0xff])
    } finally {
      await fresh.close()
    }
    expect(fresh.workers).toBe(0)
  })
})
