import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { CLI, ndjson, sha256File, startDaemon, stopAll, tempDir, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024
let dir: string
afterEach(async () => { await stopAll() })
afterAll(async () => { if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true }) })

/**
 * A seeder sharing a new random file, a fetcher bootstrapped to it, and a
 * `shoal fetch --json` of it running on the fetcher.
 */
async function seedAndStartFetch (name: string, size: number, seed: number, seederArgs: string[] = []): Promise<{ base: string, src: string, cid: string, seeder: Daemon, fetcher: Daemon, fetcherRepo: string, out: string, fetch: ChildProcessByStdio<null, Readable, Readable>, fetchExited: Promise<number | null> }> {
  dir ??= await tempDir()
  const base = path.join(dir, name)
  const seeder = await startDaemon(path.join(base, 'seed'), seederArgs)
  const src = path.join(base, `${name}.bin`)
  await writeRandomFile(src, size, seed)
  const { cid } = JSON.parse((await seeder.cli(['share', src, '--json'])).stdout) as { cid: string }
  const fetcherRepo = path.join(base, 'fetcher')
  const fetcher = await startDaemon(fetcherRepo, ['--bootstrap', seeder.addrs[0] ?? ''])
  const out = path.join(base, 'copy.bin')
  const fetch = spawn(process.execPath, [CLI, 'fetch', cid, '-o', out, '--json', '--repo', fetcherRepo], { stdio: ['ignore', 'pipe', 'pipe'] })
  const fetchExited = new Promise<number | null>(resolve => fetch.once('exit', resolve))
  return { base, src, cid, seeder, fetcher, fetcherRepo, out, fetch, fetchExited }
}

describe('resilience', () => {
  it('resumes after kill -9 of the fetching daemon, fetching only what was missing', async () => {
    const size = 256 * MiB
    // watch progress; kill -9 the daemon once a third or more has arrived
    const { src, cid, seeder, fetcher, fetcherRepo, out, fetch, fetchExited } = await seedAndStartFetch('resume', size, 21)
    let atKill = 0
    await new Promise<void>((resolve, reject) => {
      let buffered = ''
      fetch.stdout.on('data', (c: Buffer) => {
        buffered += c.toString()
        for (const e of ndjson(buffered)) {
          if (e.type === 'progress' && (e.received as number) >= size / 3 && atKill === 0) {
            atKill = e.received as number
            fetcher.proc.kill('SIGKILL')
            resolve()
          }
        }
      })
      void fetchExited.then(() => { if (atKill === 0) reject(new Error(`fetch ended before it could be interrupted: ${buffered}`)) })
    })
    await fetcher.exited
    expect(await fetchExited).not.toBe(0) // the CLI saw its daemon die
    await expect(fs.access(out)).rejects.toThrow() // nothing half-done in place
    await fs.access(`${out}.part`) // progress kept

    // restart: the download resumes by itself; `fetch` attaches to it
    const again = await startDaemon(fetcherRepo, ['--bootstrap', seeder.addrs[0] ?? ''])
    const res = await again.cli(['fetch', cid, '-o', out, '--json'])
    expect(res.code, res.stderr + again.log()).toBe(0)
    expect(await sha256File(out)).toBe(await sha256File(src))
    const status = JSON.parse((await again.cli(['status', '--json'])).stdout) as { downloaded: number }
    const redownloaded = (atKill + status.downloaded - size) / size
    console.log(`kill -9 at ${(100 * atKill / size).toFixed(0)}% (last progress event): after restart fetched ${(100 * status.downloaded / size).toFixed(0)}% → re-downloaded ≈ ${(100 * Math.max(0, redownloaded)).toFixed(1)}% of the file`)
    expect(status.downloaded).toBeLessThan(size) // it did not start over
    expect(redownloaded).toBeLessThanOrEqual(0.2)
  })

  it('shoal stop during a fetch: the fetch says ABORTED and how to resume, and it resumes', async () => {
    // a capped seeder keeps the transfer going long enough to stop in the middle
    const { src, cid, seeder, fetcher, fetcherRepo, out, fetch, fetchExited } = await seedAndStartFetch('graceful', 24 * MiB, 22, ['--max-upload', '4MiB/s'])
    let stdout = ''
    // stop the daemon at the first progress event with bytes in
    await new Promise<void>((resolve, reject) => {
      fetch.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
        if (ndjson(stdout.slice(0, stdout.lastIndexOf('\n') + 1)).some(e => e.type === 'progress' && (e.received as number) > 0)) resolve()
      })
      void fetchExited.then(() => { reject(new Error(`fetch ended before it could be stopped: ${stdout}`)) })
    })
    expect((await fetcher.cli(['stop'])).code).toBe(0)
    expect(await fetchExited).toBe(1)
    // the last event says why, and what to do
    const last = ndjson(stdout).at(-1) as { type: string, error?: { code: string, message: string } }
    expect(last).toMatchObject({ type: 'error', error: { code: 'ABORTED', message: expect.stringContaining('fetch again to resume') } })
    await fetcher.exited
    const again = await startDaemon(fetcherRepo, ['--bootstrap', seeder.addrs[0] ?? ''])
    const res = await again.cli(['fetch', cid, '-o', out, '--json'])
    expect(res.code, res.stderr).toBe(0)
    expect(await sha256File(out)).toBe(await sha256File(src))
  })

  it('never serves a shared file changed in place (same size and mtime): stale, no wrong file anywhere', async () => {
    dir ??= await tempDir()
    const base = path.join(dir, 'changed')
    const a = await startDaemon(path.join(base, 'a'))
    const b = await startDaemon(path.join(base, 'b'), ['--bootstrap', a.addrs[0] ?? ''])
    const src = path.join(base, 'doc.bin')
    await writeRandomFile(src, 4 * MiB + 9, 22)
    const { cid, ticket } = JSON.parse((await a.cli(['share', src, '--json'])).stdout) as { cid: string, ticket: string }
    // overwrite one byte in place, then put the old mtime back
    const before = await fs.stat(src, { bigint: true })
    const handle = await fs.open(src, 'r+')
    await handle.write(Buffer.from([0x00]), 0, 1, 2 * MiB)
    await handle.close()
    const ns = before.mtimeNs
    execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`, src])
    const after = await fs.stat(src, { bigint: true })
    expect(after.mtimeNs).toBe(before.mtimeNs)
    expect(after.size).toBe(before.size)

    const out = path.join(base, 'copy.bin')
    const res = await b.cli(['fetch', ticket, '-o', out, '--timeout', '3'])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/NO_PROVIDERS/)
    await expect(fs.access(out)).rejects.toThrow()
    const ls = JSON.parse((await a.cli(['ls', '--json'])).stdout) as { shares: Array<{ cid: string, stale: boolean }> }
    expect(ls.shares.find(s => s.cid === cid)?.stale).toBe(true)
    const human = await a.cli(['ls'])
    expect(human.stdout).toMatch(/STALE/)
  })

  it('survives random bytes thrown at its TCP port', async () => {
    dir ??= await tempDir()
    const d = await startDaemon(path.join(dir, 'noise'))
    const port = Number(/\/tcp\/(\d+)/.exec(d.addrs[0] ?? '')?.[1])
    await Promise.all(Array.from({ length: 20 }, async (_, i) => {
      await new Promise<void>(resolve => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(randomBytes(i === 0 ? 4 * MiB : 64 * 1024))
          socket.end()
        })
        socket.on('error', () => resolve())
        socket.on('close', () => resolve())
        socket.resume()
      })
    }))
    const status = await d.cli(['status', '--json'])
    expect(status.code).toBe(0)
    expect(d.proc.exitCode).toBeNull()
  })

  it('a full disk fails the fetch with DISK_FULL, keeps the .part and the daemon', async (ctx) => {
    dir ??= await tempDir()
    const base = path.join(dir, 'full')
    const small = path.join(base, 'small-disk')
    await fs.mkdir(small, { recursive: true })
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', small], { stdio: 'pipe' })
    } catch (err) {
      console.log(`skipping the disk-full test: cannot mount a small tmpfs here (${(err as Error).message.split('\n')[0]})`)
      ctx.skip()
      return
    }
    try {
      const a = await startDaemon(path.join(base, 'a'))
      const b = await startDaemon(path.join(base, 'b'), ['--bootstrap', a.addrs[0] ?? ''])
      const src = path.join(base, 'big.bin')
      await writeRandomFile(src, 16 * MiB, 23)
      const { ticket } = JSON.parse((await a.cli(['share', src, '--json'])).stdout) as { ticket: string }
      const out = path.join(small, 'big.bin')
      const res = await b.cli(['fetch', ticket, '-o', out])
      expect(res.code).toBe(1)
      expect(res.stderr).toMatch(/no space left on device.*DISK_FULL/)
      await fs.access(`${out}.part`)
      await expect(fs.access(out)).rejects.toThrow()
      expect((await b.cli(['status'])).code).toBe(0)
    } finally {
      await stopAll()
      execFileSync('umount', [small])
    }
  })
})
