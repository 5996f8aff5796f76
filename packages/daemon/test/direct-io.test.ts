import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ChunkLayout, MAX_CHUNK_SIZE, MANIFEST_VERSION } from '@shoal/protocol'
import { Uint8ArrayList } from 'uint8arraylist'
import { AlignedSlots, alignedSlots, directIoAligned } from '../src/storage/direct-io.js'
import { PartFiles } from '../src/storage/part-files.js'
import { defaultLogger } from '@libp2p/logger'

const KiB = 1024
const dirs: string[] = []
afterEach(async () => { await Promise.all(dirs.splice(0).map(async d => { await fs.rm(d, { recursive: true, force: true }) })) })

async function tempIn (parent: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(parent, 'shoal-direct-'))
  dirs.push(dir)
  return dir
}

/** A one-file layout of `size` bytes in 256 KiB chunks (hashes unused by PartFiles). */
function layoutOf (size: number): ChunkLayout {
  const chunkSize = 256 * KiB
  const chunks = Math.ceil(size / chunkSize)
  return new ChunkLayout({ version: MANIFEST_VERSION, kind: 'file', chunkSize, files: [{ path: '', size, hashes: new Uint8Array(32 * chunks) }], dirs: [] })
}

/** Write every chunk of `bytes` (as lists of 3 pieces, as they arrive from the network), close, read the file back. */
async function roundTrip (dir: string, bytes: Uint8Array): Promise<Buffer> {
  const layout = layoutOf(bytes.byteLength)
  const part = new PartFiles(path.join(dir, 'out.bin.part'), layout, defaultLogger().forComponent('test:part-files'))
  await part.prepare(false)
  // out of order, concurrently, like a download
  const order = Array.from({ length: layout.chunkCount }, (_, i) => i).reverse()
  await Promise.all(order.map(async i => {
    const { offset, length } = layout.locate(i)
    const chunk = bytes.subarray(offset, offset + length)
    const third = Math.floor(length / 3)
    await part.write(i, new Uint8ArrayList(chunk.subarray(0, third), chunk.subarray(third, 2 * third), chunk.subarray(2 * third)))
  }))
  await part.close()
  return await fs.readFile(part.partPath)
}

describe('direct I/O for part files', () => {
  it('lends at most 8 aligned slots of the asked length that do not overlap, and takes them back', () => {
    const slots = new AlignedSlots()
    const lent = Array.from({ length: 8 }, () => slots.take(MAX_CHUNK_SIZE))
    expect(lent.every(s => s?.buffer.byteLength === MAX_CHUNK_SIZE)).toBe(true)
    expect(slots.take(4096)).toBeUndefined()
    lent.forEach((s, i) => s?.buffer.fill(i))
    lent.forEach((s, i) => { expect(s?.buffer.every(b => b === i)).toBe(true) })
    lent[3]?.release()
    lent[3]?.release() // twice is harmless
    expect(slots.take(1000)?.buffer.byteLength).toBe(1000)
    expect(slots.take(1000)).toBeUndefined()
    expect(slots.take(MAX_CHUNK_SIZE + 1)).toBeUndefined()
  })

  it('takes only aligned offsets and lengths', () => {
    expect(directIoAligned(0, 256 * KiB)).toBe(true)
    expect(directIoAligned(4096, 4096)).toBe(true)
    expect(directIoAligned(0, 1000)).toBe(false)
    expect(directIoAligned(512, 4096)).toBe(false)
    expect(directIoAligned(0, 0)).toBe(false)
  })

  it('writes whole chunks and a short last chunk correctly where direct I/O works (the repo disk)', async () => {
    const dir = await tempIn(os.tmpdir())
    const bytes = randomBytes(5 * 256 * KiB + 12_345) // 5 aligned chunks and a short one
    const take = vi.spyOn(alignedSlots, 'take')
    try {
      expect((await roundTrip(dir, bytes)).equals(bytes)).toBe(true)
      expect(take).toHaveBeenCalledTimes(5) // the short chunk went through the page cache
    } finally {
      take.mockRestore()
    }
  })

  it('writes the same bytes through the page cache with SHOAL_DIRECT_IO=0, and on tmpfs whatever it supports', async () => {
    const bytes = randomBytes(3 * 256 * KiB + 7)
    process.env.SHOAL_DIRECT_IO = '0'
    try {
      expect((await roundTrip(await tempIn(os.tmpdir()), bytes)).equals(bytes)).toBe(true)
    } finally {
      delete process.env.SHOAL_DIRECT_IO
    }
    // tmpfs refuses O_DIRECT on older kernels (EINVAL: page cache) and takes it on newer ones
    const shm = '/dev/shm'
    if (await fs.access(shm).then(() => true, () => false)) {
      expect((await roundTrip(await tempIn(shm), bytes)).equals(bytes)).toBe(true)
    }
  })
})
