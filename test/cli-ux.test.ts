/**
 * The CLI's user experience end to end: `cat`, `completion`, `config`, and
 * how output looks on a terminal (under util-linux `script`, a pseudo-TTY)
 * versus a pipe.
 */
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, ndjson, sha256File, shoal, startDaemon, stopAll, tempDir, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'

const MiB = 1024 * 1024
const PROGRESS_BAR = /\[[#.]+\]\s+\d+%/

/** Run the CLI and keep stdout as bytes (cat output is binary). */
async function shoalBytes (args: string[]): Promise<{ code: number | null, stdout: Buffer, stderr: string }> {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let stderr = ''
  proc.stdout.on('data', (c: Buffer) => { out.push(c) })
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  const code = await new Promise<number | null>(resolve => { proc.once('close', resolve) })
  return { code, stdout: Buffer.concat(out), stderr }
}

/** Run a shell command line; resolves with its exit code and output. */
async function sh (command: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, maxBuffer: 64 * MiB, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

/** `script -qfec CMD /dev/null`: CMD runs with a pseudo-terminal as stdin, stdout and stderr. */
async function underTty (args: string[]): Promise<{ code: number, output: string }> {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ')
  // TERM set: a terminal that understands \r, whatever the test runner has;
  // NO_COLOR: these tests check the text, cli-render.test.ts checks its colour
  const res = await sh(`script -qfec ${quote(command)} /dev/null < /dev/null`, { TERM: 'xterm', NO_COLOR: '1', FORCE_COLOR: undefined })
  return { code: res.code, output: res.stdout }
}

function quote (arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

describe('shoal cat, share progress and terminal rendering', () => {
  let dir: string
  let a: Daemon
  let b: Daemon
  let src: string
  let cid: string
  let ticket: string

  beforeAll(async () => {
    dir = await tempDir()
    ;[a, b] = await Promise.all([startDaemon(path.join(dir, 'a')), startDaemon(path.join(dir, 'b'))])
    src = path.join(dir, 'three.bin')
    await writeRandomFile(src, 3 * MiB + 12345, 11)
    ;({ cid, ticket } = await shareFile(a, src))
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('cat writes a 3 MiB+ file to stdout byte for byte, and nothing else', async () => {
    const res = await shoalBytes(['cat', cid, '--repo', a.repo])
    expect(res.code, res.stderr).toBe(0)
    expect(res.stderr).toBe('')
    expect(res.stdout.byteLength).toBe(3 * MiB + 12345)
    expect(sha256(res.stdout)).toBe(await sha256File(src))
    // a ticket stands for its content id
    const byTicket = await shoalBytes(['cat', ticket, '--repo', a.repo])
    expect(sha256(byTicket.stdout)).toBe(await sha256File(src))
  })

  it('cat reads what this node fetched too', async () => {
    const out = path.join(dir, 'fetched.bin')
    const fetched = await b.cli(['fetch', ticket, '-o', out])
    expect(fetched.code, fetched.stderr).toBe(0)
    const res = await shoalBytes(['cat', cid, '--repo', b.repo])
    expect(res.code, res.stderr).toBe(0)
    expect(sha256(res.stdout)).toBe(await sha256File(src))
  })

  it('cat of a directory share needs a file path; errors are one line on stderr', async () => {
    const tree = path.join(dir, 'tree')
    await fs.mkdir(path.join(tree, 'docs', 'empty'), { recursive: true })
    await fs.writeFile(path.join(tree, 'docs', 'readme.txt'), 'read me\n')
    await fs.writeFile(path.join(tree, 'top.txt'), '')
    const { cid: dirCid } = JSON.parse((await a.cli(['share', tree, '--json'])).stdout) as { cid: string }

    const ok = await a.cli(['cat', dirCid, 'docs/readme.txt'])
    expect(ok).toMatchObject({ code: 0, stdout: 'read me\n', stderr: '' })
    expect(await a.cli(['cat', dirCid, 'top.txt'])).toMatchObject({ code: 0, stdout: '' }) // empty file

    const failures: Array<[string[], number, RegExp]> = [
      [['cat', dirCid], 1, /is a directory of 2 file\(s\): name the file.*\[INVALID_PATH\]/],
      [['cat', dirCid, 'docs'], 1, /"docs" is a directory.*\[INVALID_PATH\]/],
      [['cat', dirCid, 'docs/empty'], 1, /"docs\/empty" is a directory.*\[INVALID_PATH\]/],
      [['cat', dirCid, 'nope.txt'], 1, /no file "nope.txt".*\[INVALID_PATH\]/],
      [['cat', cid, 'anything'], 1, /single file.*omit the path.*\[INVALID_PATH\]/],
      // content not held is looked for (and streamed when found); nobody has this one
      [['cat', 'bafyreih2gpsqiwe3y6ev2afhvjxcs5ze3nt3y5kl65jzwmkzilxlyh5bum', '--timeout', '1'], 1, /no providers found.*\[NO_PROVIDERS\]/],
      [['cat', 'not-a-cid'], 2, /\[INVALID_ID\]/]
    ]
    for (const [args, code, message] of failures) {
      const res = await a.cli(args)
      expect(res.code, args.join(' ')).toBe(code)
      expect(res.stdout).toBe('')
      expect(res.stderr).toMatch(message)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  it('the control route answers 404 NO_PROVIDERS and 400 INVALID_PATH before any byte', async () => {
    const sock = path.join(a.repo, 'shoal.sock')
    const get = async (route: string): Promise<{ status: number, body: string }> => await new Promise((resolve, reject) => {
      http.get({ socketPath: sock, path: route }, res => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
      }).on('error', reject)
    })
    const unknown = await get('/v1/cat/bafyreih2gpsqiwe3y6ev2afhvjxcs5ze3nt3y5kl65jzwmkzilxlyh5bum?timeout=1')
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: 'NO_PROVIDERS' } })
    const badPath = await get(`/v1/cat/${cid}?path=x`)
    expect(badPath.status).toBe(400)
    expect(JSON.parse(badPath.body)).toMatchObject({ error: { code: 'INVALID_PATH' } })
  })

  it('a client that stops reading early does not hurt the daemon', async () => {
    const sock = path.join(a.repo, 'shoal.sock')
    // read the first bytes, then hang up, like `| head -c 10`
    const firstBytes = await new Promise<number>((resolve, reject) => {
      const req = http.get({ socketPath: sock, path: `/v1/cat/${cid}` }, res => {
        expect(res.statusCode).toBe(200)
        expect(res.headers['content-length']).toBe(String(3 * MiB + 12345))
        res.once('data', (c: Buffer) => {
          req.destroy()
          req.once('close', () => { resolve(c.byteLength) })
        })
      })
      req.on('error', err => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err) })
    })
    expect(firstBytes).toBeGreaterThan(0)

    // the real thing, through a shell pipe: shoal stops quietly, with exit 0
    const head = path.join(dir, 'head.bin')
    const rc = path.join(dir, 'cat.rc')
    const piped = await sh(`{ ${quote(process.execPath)} ${quote(CLI)} cat ${cid} --repo ${quote(a.repo)}; echo "$?" > ${quote(rc)}; } | head -c 10 > ${quote(head)}`)
    expect(piped.code).toBe(0)
    expect(piped.stderr).toBe('')
    expect((await fs.readFile(rc, 'utf8')).trim()).toBe('0')
    expect((await fs.readFile(head)).equals((await fs.readFile(src)).subarray(0, 10))).toBe(true)

    // the daemon is alive and still serves the whole file
    expect(a.proc.exitCode).toBeNull()
    expect((await a.cli(['status'])).code).toBe(0)
    const again = await shoalBytes(['cat', cid, '--repo', a.repo])
    expect(sha256(again.stdout)).toBe(await sha256File(src))
  })

  it('share streams hashing progress as NDJSON when asked, one JSON object otherwise', async () => {
    const big = path.join(dir, 'nine.bin')
    await writeRandomFile(big, 9 * MiB, 12)
    const events = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
      const body = JSON.stringify({ path: big })
      const req = http.request({ socketPath: path.join(a.repo, 'shoal.sock'), method: 'POST', path: '/v1/shares', headers: { accept: 'application/x-ndjson', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, res => {
        expect(res.headers['content-type']).toBe('application/x-ndjson')
        let text = ''
        res.on('data', (c: Buffer) => { text += c.toString() })
        res.on('end', () => { resolve(ndjson(text)) })
      })
      req.on('error', reject)
      req.end(body)
    })
    const hashing = events.filter(e => e.type === 'hashing')
    expect(hashing.length).toBeGreaterThan(0)
    expect(hashing[hashing.length - 1]).toMatchObject({ hashedBytes: 9 * MiB, totalBytes: 9 * MiB, files: 1 })
    const done = events[events.length - 1]
    expect(done).toMatchObject({ type: 'done', name: 'nine.bin', size: 9 * MiB })
    expect(done?.cid).toMatch(/^bafy/)
    expect(done?.ticket).toMatch(/^shoal1/)

    // share --json stays one object, and a missing path is still a 4xx in NDJSON mode
    const plain = await a.cli(['share', big, '--json'])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse(plain.stdout)).toMatchObject({ cid: done?.cid, ticket: expect.stringMatching(/^shoal1/) })
  })

  it('on a terminal fetch draws a progress bar; piped it does not; --json stays NDJSON', async () => {
    const tty = await underTty(['fetch', ticket, '-o', path.join(dir, 'tty.bin'), '--repo', b.repo])
    expect(tty.code, tty.output).toBe(0)
    expect(tty.output).toMatch(PROGRESS_BAR)
    expect(tty.output).toMatch(/saved .*tty\.bin/)

    const piped = await b.cli(['fetch', ticket, '-o', path.join(dir, 'piped.bin')])
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stderr).not.toMatch(PROGRESS_BAR)
    expect(piped.stderr).toBe('')
    expect(piped.stdout).toMatch(/^saved .*piped\.bin \(3\.0 MiB in .*, verified\)\n$/)

    const json = await b.cli(['fetch', ticket, '-o', path.join(dir, 'json.bin'), '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect(json.stderr).toBe('')
    const lines = json.stdout.trim().split('\n')
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow()
    expect(JSON.parse(lines[lines.length - 1] ?? '{}')).toMatchObject({ done: true, cid })

    // a terminal but --json or --quiet: no bar either
    const ttyJson = await underTty(['fetch', ticket, '-o', path.join(dir, 'tty-json.bin'), '--repo', b.repo, '--json'])
    expect(ttyJson.code, ttyJson.output).toBe(0)
    expect(ttyJson.output).not.toMatch(PROGRESS_BAR)
    for (const line of ttyJson.output.trim().split(/\r?\n/)) expect(() => JSON.parse(line) as unknown, line).not.toThrow()
    const ttyQuiet = await underTty(['fetch', ticket, '-o', path.join(dir, 'tty-quiet.bin'), '--repo', b.repo, '--quiet'])
    expect(ttyQuiet.code, ttyQuiet.output).toBe(0)
    expect(ttyQuiet.output).not.toMatch(PROGRESS_BAR)
    expect(ttyQuiet.output.trim()).toMatch(/^saved .*tty-quiet\.bin/)
  })

  it('on a terminal share shows hashing progress for a big input; piped it does not', async () => {
    const big = path.join(dir, 'ten.bin')
    await writeRandomFile(big, 10 * MiB, 13)
    const tty = await underTty(['share', big, '--repo', a.repo])
    expect(tty.code, tty.output).toBe(0)
    expect(tty.output).toMatch(/hashing \[[#.]+\]\s+\d+%/)
    expect(tty.output).toMatch(/content id: bafy/)
    const piped = await a.cli(['share', big])
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stderr).not.toMatch(/hashing/)
    expect(piped.stdout).toMatch(/^shared ten\.bin \(10\.0 MiB, 10 chunks\)\ncontent id: bafy/)
  })
})

describe('shoal completion and --help', () => {
  it('prints a completion script that asks shoal for the command names', async () => {
    const bash = await shoal(['completion'], { env: { SHELL: '/bin/bash' } })
    expect(bash.code).toBe(0)
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _shoal_yargs_completions shoal')
    expect(bash.stdout).toContain('shoal --get-yargs-completions')
    const zsh = await shoal(['completion'], { env: { SHELL: '/bin/zsh' } })
    expect(zsh.stdout).toContain('compdef _shoal_yargs_completions shoal')

    // what the script runs on <TAB>: every command name
    const names = await shoal(['--get-yargs-completions', 'shoal', ''], { env: { SHELL: '/bin/bash' } })
    expect(names.code).toBe(0)
    for (const cmd of ['daemon', 'share', 'fetch', 'cat', 'status', 'peers', 'connect', 'ls', 'unshare', 'stop', 'config', 'ui', 'completion']) {
      expect(names.stdout.split('\n')).toContain(cmd)
    }
    const actions = await shoal(['--get-yargs-completions', 'shoal', 'config', ''], { env: { SHELL: '/bin/bash' } })
    expect(actions.stdout.split('\n')).toEqual(expect.arrayContaining(['show', 'get', 'set', 'unset']))
  })

  it('every command has an example in its --help, and the top level keeps the exit codes', async () => {
    const top = await shoal(['--help'])
    expect(top.stdout).toMatch(/Exit codes: 0 ok, 1 failed, 2 usage error.*3 daemon not reachable/)
    expect(top.stdout).toMatch(/Examples:/)
    for (const cmd of [['daemon'], ['share'], ['fetch'], ['cat'], ['status'], ['peers'], ['connect'], ['ls'], ['unshare'], ['stop'], ['ui'], ['config'], ['config', 'show'], ['config', 'get'], ['config', 'set'], ['config', 'unset']]) {
      const res = await shoal([...cmd, '--help'])
      expect(res.code, cmd.join(' ')).toBe(0)
      expect(res.stdout, cmd.join(' ')).toMatch(/Examples:\n\s+shoal /)
    }
  })
})

describe('shoal config', () => {
  let dir: string
  beforeAll(async () => { dir = await tempDir() })
  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('set, get, show and unset work without a daemon; the repo is created 0700', async () => {
    const repo = path.join(dir, 'fresh')
    const set = await shoal(['config', 'set', 'bootstrap', '/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWA', '/ip4/192.0.2.8/tcp/4001/p2p/12D3KooWB', '--repo', repo])
    expect(set.code, set.stderr).toBe(0)
    expect(set.stderr).toMatch(/running daemon applies it at its next start/)
    expect((await fs.stat(repo)).mode & 0o777).toBe(0o700)
    expect(await shoal(['config', 'set', 'mdns', 'false', '--repo', repo])).toMatchObject({ code: 0 })
    expect(await shoal(['config', 'set', 'network', 'public', '--repo', repo, '--quiet'])).toMatchObject({ code: 0, stderr: '' })

    expect((await shoal(['config', 'get', 'bootstrap', '--repo', repo])).stdout).toBe('/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWA\n/ip4/192.0.2.8/tcp/4001/p2p/12D3KooWB\n')
    expect((await shoal(['config', 'get', 'mdns', '--repo', repo])).stdout).toBe('false\n')
    expect(JSON.parse((await shoal(['config', 'show', '--json', '--repo', repo])).stdout)).toEqual({
      bootstrap: ['/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWA', '/ip4/192.0.2.8/tcp/4001/p2p/12D3KooWB'], mdns: false, network: 'public'
    })
    expect((await shoal(['config', 'show', '--repo', repo])).stdout).toMatch(/^listen\s+\(not set\)$/m)

    expect(await shoal(['config', 'unset', 'network', '--repo', repo])).toMatchObject({ code: 0 })
    const unsetGet = await shoal(['config', 'get', 'network', '--repo', repo])
    expect(unsetGet.code).toBe(1)
    expect(unsetGet.stderr).toMatch(/"network" is not set/)
    expect(await fs.readdir(repo)).toEqual(['config.json']) // no temp files left behind
  })

  it('an invalid key or value exits 2 naming the key, and changes nothing', async () => {
    const repo = path.join(dir, 'strict')
    await shoal(['config', 'set', 'mdns', 'true', '--repo', repo])
    const before = await fs.readFile(path.join(repo, 'config.json'), 'utf8')
    const cases: Array<[string[], RegExp]> = [
      [['config', 'set', 'mdsn', 'true'], /"mdsn"/],
      [['config', 'get', 'mdsn'], /"mdsn"/],
      [['config', 'set', 'mdns', 'maybe'], /"mdns"/],
      [['config', 'set', 'network', 'moon'], /"network"/],
      [['config', 'set', 'listen', 'localhost:4001'], /"listen"/],
      [['config', 'set', 'bootstrap', '[1,2]'], /"bootstrap"/]
    ]
    for (const [args, message] of cases) {
      const res = await shoal([...args, '--repo', repo])
      expect(res.code, args.join(' ')).toBe(2)
      expect(res.stderr).toMatch(message)
      expect(res.stderr.trim().split('\n')).toHaveLength(1)
    }
    expect(await fs.readFile(path.join(repo, 'config.json'), 'utf8')).toBe(before)
  })

  it('a daemon started without --listen listens where config.json says; a flag overrides it', async () => {
    const repo = path.join(dir, 'node')
    expect((await shoal(['config', 'set', 'listen', '/ip4/127.0.0.1/tcp/0', '--repo', repo])).code).toBe(0)
    // no --listen on the command line: config.json decides
    const plain = await startDaemon(repo, [], { listen: false })
    const status = JSON.parse((await shoal(['status', '--json', '--repo', repo])).stdout) as { addrs: string[] }
    expect(status.addrs.length).toBeGreaterThan(0)
    for (const addr of status.addrs) expect(addr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    expect(plain.addrs).toEqual(status.addrs)
    expect((await shoal(['stop', '--repo', repo])).code).toBe(0)
    expect(await plain.exited).toBe(0)

    // config says 127.0.0.2; the harness passes --listen /ip4/127.0.0.1/tcp/0, which wins
    expect((await shoal(['config', 'set', 'listen', '/ip4/127.0.0.2/tcp/0', '--repo', repo])).code).toBe(0)
    const flagged = await startDaemon(repo)
    const addrs = (JSON.parse((await flagged.cli(['status', '--json'])).stdout) as { addrs: string[] }).addrs
    expect(addrs.length).toBeGreaterThan(0)
    for (const addr of addrs) expect(addr).toMatch(/^\/ip4\/127\.0\.0\.1\//)
  })
})
