/**
 * A download's life from the terminal: Ctrl-C on `shoal fetch` pauses it,
 * `--detach` leaves it running in the daemon, `pause` and `cancel` act on it
 * from another terminal; a paused download stays paused across a restart.
 * And a daemon's own life: a misspelled flag never starts one, and a stop
 * ends it within 5 s whatever it is doing.
 */
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ListResult, StatusInfo, TransferInfo } from '@shoal/protocol'
import { CLI, ndjson, sha256File, shareFile, shoal, startDaemon, stopAll, tempDir, writeRandomFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024
/** What the daemon promises for a stop, plus the time a process takes to exit and be reaped. */
const STOP_BOUND_MS = 5_000 + 750

let dir: string
beforeAll(async () => { dir = await tempDir('shoal-lifecycle-') })
afterEach(async () => { await stopAll() })
afterAll(async () => { await fs.rm(dir, { recursive: true, force: true }) })

/** `shoal fetch ARGS --json` on `d`, resolved once some bytes have arrived. */
async function fetchUntilProgress (d: Daemon, args: string[]): Promise<{ fetch: ReturnType<typeof spawn>, exited: Promise<number | null>, output: () => { stdout: string, stderr: string } }> {
  const fetch = spawn(process.execPath, [CLI, 'fetch', ...args, '--json', '--repo', d.repo], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => fetch.once('exit', resolve))
  let stdout = ''
  let stderr = ''
  fetch.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  await new Promise<void>((resolve, reject) => {
    fetch.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (ndjson(stdout).some(e => e.type === 'progress' && (e.received as number) > 0)) resolve()
    })
    void exited.then(code => { reject(new Error(`fetch exited (${String(code)}) before any progress: ${stdout}${stderr}`)) })
  })
  return { fetch, exited, output: () => ({ stdout, stderr }) }
}

/** A capped seeder sharing a random file, and a fetcher bootstrapped to it. */
async function seeded (name: string, size: number, cap = '6MiB/s'): Promise<{ base: string, src: string, cid: string, ticket: string, seeder: Daemon, fetcher: Daemon }> {
  const base = path.join(dir, name)
  const seeder = await startDaemon(path.join(base, 'seeder'), ['--max-upload', cap])
  const src = path.join(base, `${name}.bin`)
  await writeRandomFile(src, size, name.length)
  const { cid, ticket } = await shareFile(seeder, src)
  const fetcher = await startDaemon(path.join(base, 'fetcher'), ['--bootstrap', seeder.addrs[0] ?? ''])
  return { base, src, cid, ticket, seeder, fetcher }
}

async function downloadsOf (d: Daemon): Promise<TransferInfo[]> {
  const ls = await d.cli(['ls', '--json'])
  expect(ls.code, ls.stderr).toBe(0)
  return (JSON.parse(ls.stdout) as ListResult).downloads
}

describe('a download from the terminal', () => {
  it('Ctrl-C on fetch pauses it: kept, not running, still paused after a restart; fetch ID resumes it', async () => {
    const size = 24 * MiB
    const { base, src, cid, ticket, fetcher } = await seeded('ctrl-c', size)
    const out = path.join(base, 'copy.bin')
    // Ctrl-C once some of it has arrived
    const { fetch, exited, output } = await fetchUntilProgress(fetcher, [ticket, '-o', out])
    fetch.kill('SIGINT')
    expect(await exited, output().stderr).toBe(130)
    const last = ndjson(output().stdout).at(-1)
    expect(last).toMatchObject({ type: 'paused', cid, path: out })

    const [paused] = await downloadsOf(fetcher)
    expect(paused).toMatchObject({ cid, state: 'paused', path: out, size })
    const kept = paused?.received ?? 0
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThan(size)
    const status = JSON.parse((await fetcher.cli(['status', '--json'])).stdout) as StatusInfo
    expect(status.transfers).toEqual([]) // nothing is downloading it any more
    await expect(fs.access(out)).rejects.toThrow()
    await fs.access(`${out}.part`)

    // a restart does not resume it, and nothing was lost
    expect(await fetcher.kill('SIGTERM')).toBe(0)
    const again = await startDaemon(fetcher.repo)
    const [afterRestart] = await downloadsOf(again)
    expect(afterRestart).toMatchObject({ cid, state: 'paused', received: kept })

    // `shoal fetch ID`, from another directory, without -o: resumes it where it was
    const elsewhere = path.join(base, 'elsewhere')
    await fs.mkdir(elsewhere)
    const resumed = await new Promise<{ code: number | null, stdout: string }>(resolve => {
      const p = spawn(process.execPath, [CLI, 'fetch', ticket, '--json', '--repo', again.repo], { cwd: elsewhere, stdio: ['ignore', 'pipe', 'inherit'] })
      let text = ''
      p.stdout.on('data', (c: Buffer) => { text += c.toString() })
      p.once('exit', code => { resolve({ code, stdout: text }) })
    })
    expect(resumed.code).toBe(0)
    expect(ndjson(resumed.stdout).at(-1)).toMatchObject({ type: 'done', path: out })
    expect(await sha256File(out)).toBe(await sha256File(src))
    expect(await fs.readdir(elsewhere)).toEqual([])
    expect(await downloadsOf(again)).toEqual([])
  })

  it('--detach returns at once; pause and cancel act on it from another terminal', async () => {
    const size = 48 * MiB
    const { base, cid, ticket, fetcher } = await seeded('detach', size, '4MiB/s')
    const out = path.join(base, 'copy.bin')
    const started = await fetcher.cli(['fetch', ticket, '-o', out, '--detach', '--json'])
    expect(started.code, started.stderr).toBe(0)
    expect(JSON.parse(started.stdout)).toMatchObject({ cid, state: 'active', path: out, size })
    expect((await downloadsOf(fetcher))[0]).toMatchObject({ cid, state: 'active' })

    const paused = await fetcher.cli(['pause', cid, '--json'])
    expect(paused.code, paused.stderr).toBe(0)
    expect(JSON.parse(paused.stdout)).toMatchObject({ cid, state: 'paused', path: out })
    expect((await downloadsOf(fetcher))[0]).toMatchObject({ cid, state: 'paused' })

    // a detached fetch of a paused id resumes it
    const resumed = await fetcher.cli(['fetch', cid, '--detach', '--json'])
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ cid, state: 'active', path: out })

    const cancelled = await fetcher.cli(['cancel', cid])
    expect(cancelled.code, cancelled.stderr).toBe(0)
    expect(cancelled.stdout).toContain(`cancelled the download of ${cid}`)
    await expect(fs.access(`${out}.part`)).rejects.toThrow()
    await expect(fs.access(out)).rejects.toThrow()
    expect(await downloadsOf(fetcher)).toEqual([])

    const again = await fetcher.cli(['cancel', cid])
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/no download of .* \[NOT_FOUND\]/)
    const bad = await fetcher.cli(['pause', 'bafynotanid'])
    expect(bad.code).toBe(2)
  })
})

describe('a daemon', () => {
  it('with a misspelled flag exits 2 naming it and suggesting the right one, without starting', async () => {
    const repo = path.join(dir, 'typo')
    const r = await shoal(['daemon', '--repo', repo, '--max-uplaod', '1MiB/s'], { timeoutMs: 20_000 })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('unknown option --max-uplaod (did you mean --max-upload?)')
    expect(r.stdout).toBe('')
    await expect(fs.access(repo)).rejects.toThrow() // nothing was started or created
  })

  it('stops within 5 s while uploading and while downloading, keeping the download to resume', async () => {
    const { base, cid, ticket, seeder, fetcher } = await seeded('stop', 64 * MiB, '4MiB/s')
    // both directions are busy once bytes have moved
    const { exited } = await fetchUntilProgress(fetcher, [ticket, '-o', path.join(base, 'copy.bin')])
    let t = Date.now()
    expect(await seeder.kill('SIGTERM')).toBe(0)
    const seederMs = Date.now() - t
    t = Date.now()
    expect(await fetcher.kill('SIGINT')).toBe(0)
    const fetcherMs = Date.now() - t
    expect(await exited).toBe(1) // the CLI says its daemon went away
    console.log(`[lifecycle] stop while uploading: ${seederMs} ms; while downloading: ${fetcherMs} ms`)
    expect(seederMs).toBeLessThan(STOP_BOUND_MS)
    expect(fetcherMs).toBeLessThan(STOP_BOUND_MS)
    // interrupted by a stop, not paused: it resumes by itself at the next start
    const restarted = await startDaemon(fetcher.repo)
    const [d] = await downloadsOf(restarted)
    expect(d).toMatchObject({ cid })
    expect(d?.received ?? 0).toBeGreaterThan(0)
  })

  it('stops within 5 s when its repo was deleted under it; a second signal exits at once', async () => {
    const repo = path.join(dir, 'deleted', 'repo')
    const d = await startDaemon(repo)
    await fs.rm(path.dirname(repo), { recursive: true, force: true })
    const t = Date.now()
    expect(await d.kill('SIGTERM')).toBe(0)
    expect(Date.now() - t).toBeLessThan(STOP_BOUND_MS)

    const e = await startDaemon(path.join(dir, 'twice'))
    e.proc.kill('SIGINT')
    e.proc.kill('SIGINT')
    expect([0, 130]).toContain(await e.exited)
  })
})

describe('sharing a directory', () => {
  it('says which symlinks and special files it left out, with a count and paths under --json', async () => {
    const d = await startDaemon(path.join(dir, 'links'))
    const tree = path.join(dir, 'tree')
    await fs.mkdir(path.join(tree, 'sub'), { recursive: true })
    await fs.writeFile(path.join(tree, 'a.txt'), 'hello')
    await fs.symlink('/etc/hostname', path.join(tree, 'outside'))
    await fs.symlink('../a.txt', path.join(tree, 'sub', 'inside'))
    await fs.symlink('/does/not/exist', path.join(tree, 'dangling'))
    execFileSync('mkfifo', [path.join(tree, 'pipe')])
    const human = await d.cli(['share', tree])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain('shared tree (1 file, 5 B, 1 chunk)')
    expect(human.stderr).toContain('not shared: 3 symlinks, 1 special file (symlinks are never followed): dangling, outside, pipe, sub/inside')
    const json = await d.cli(['share', tree, '--json'])
    const result = JSON.parse(json.stdout) as { files: number, skipped: { count: number, byReason: Record<string, number>, first: Array<{ path: string, reason: string }> } }
    expect(result.files).toBe(1)
    expect(result.skipped.count).toBe(4)
    expect(result.skipped.byReason).toEqual({ symlink: 3, special: 1, name: 0 })
    expect(result.skipped.first).toContainEqual({ path: 'sub/inside', reason: 'symlink' })
    expect(result.skipped.first).toContainEqual({ path: 'pipe', reason: 'special' })
  })
})
