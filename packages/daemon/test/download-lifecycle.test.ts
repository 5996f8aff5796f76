/**
 * Pause, resume, cancel and detached fetches through the embedding API, two
 * nodes in one process (the CLI and control-socket side: test/lifecycle.test.ts).
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, ShoalError } from '../src/index.js'
import type { Shoal } from '../src/index.js'
import { startNode, tempDir } from './helpers.js'

const MiB = 1024 * 1024

describe('a download through the embedding API', () => {
  let dir: string
  let seeder: Shoal
  let fetcher: Shoal
  let src: string
  let bytes: Buffer
  let ticket: string
  let cid: string

  beforeAll(async () => {
    dir = await tempDir()
    seeder = await createCapped(dir)
    fetcher = await startNode(dir, 'fetcher')
    bytes = randomBytes(24 * MiB)
    src = path.join(dir, 'src.bin')
    await fs.writeFile(src, bytes)
    ;({ ticket, cid } = await seeder.share(src))
  })
  afterAll(async () => {
    await Promise.all([seeder?.stop(), fetcher?.stop()])
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('a fetch whose signal aborts rejects with ABORTED and leaves the download paused, holding what it verified', async () => {
    const out = path.join(dir, 'signal.bin')
    const controller = new AbortController()
    const fetching = fetcher.fetch(ticket, {
      out,
      signal: controller.signal,
      onProgress: e => { if (e.type === 'progress' && e.received > 0) controller.abort() }
    })
    const err = await fetching.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ShoalError)
    expect((err as ShoalError).code).toBe(ErrorCode.ABORTED)
    expect((err as ShoalError).message).toContain(`shoal fetch ${cid}`)
    const { downloads } = await fetcher.list()
    expect(downloads).toHaveLength(1)
    expect(downloads[0]).toMatchObject({ cid, state: 'paused', path: out, size: bytes.byteLength })
    expect(downloads[0]?.received ?? 0).toBeGreaterThan(0)
  })

  it('a fetch to another path moves what a paused download holds there, and resumes', async () => {
    const before = (await fetcher.list()).downloads[0]?.received ?? 0
    const out = path.join(dir, 'moved', 'copy.bin')
    const started = await fetcher.startFetch(cid, { out })
    expect(started).toMatchObject({ cid, state: 'active', path: out })
    expect(started.received).toBe(before) // nothing held was thrown away
    await expect(fs.access(path.join(dir, 'signal.bin.part'))).rejects.toThrow()
    const paused = await fetcher.pause(cid)
    expect(paused).toMatchObject({ state: 'paused', path: out })
    const done = await fetcher.fetch(cid)
    expect(done.path).toBe(out)
    expect(Buffer.compare(await fs.readFile(out), bytes)).toBe(0)
    expect((await fetcher.list()).downloads).toEqual([])
  })

  it('cancel removes the part file and the record; pause and cancel of an unknown id are NOT_FOUND', async () => {
    const other = await fetcher.startFetch(ticket, { out: path.join(dir, 'cancel.bin') })
    expect(other.state).toBe('active')
    await expect(fetcher.cancel(cid)).resolves.toEqual({ cid, cancelled: true })
    await expect(fs.access(path.join(dir, 'cancel.bin.part'))).rejects.toThrow()
    expect((await fetcher.list()).downloads).toEqual([])
    await expect(fetcher.cancel(cid)).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND })
    await expect(fetcher.pause(cid)).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND })
    await expect(fetcher.pause('not-an-id')).rejects.toMatchObject({ code: ErrorCode.INVALID_ID })
  })
})

/** A seeder whose uploads are capped, so a transfer is still running when the test acts on it. */
async function createCapped (dir: string): Promise<Shoal> {
  const { createShoal } = await import('../src/index.js')
  const shoal = await createShoal({ repo: path.join(dir, 'seeder'), listen: ['/ip4/127.0.0.1/tcp/0'], controlSocket: false, mdns: false, maxUpload: '8MiB/s' })
  await shoal.start()
  return shoal
}
