/**
 * How the CLI's output looks where it lands: on a terminal (util-linux
 * `script`, a pseudo-TTY, as in cli-ux.test.ts), in a pipe, and with --json;
 * and that colour follows NO_COLOR and FORCE_COLOR (colour.ts). Piped and
 * --json output never carries an escape unless colour is forced, and --json
 * not even then.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, shoal, startDaemon, stopAll, tempDir, writeRandomFile, shareFile } from './harness.js'
import type { CliResult, Daemon } from './harness.js'

const ESC = '\u001b['
const RED_ERROR = `${ESC}31merror:${ESC}39m`
const GREEN = (word: string): string => `${ESC}32m${word}${ESC}39m`
const COLOURED_BAR = new RegExp(`\\[\\u001b\\[36m#+\\u001b\\[39m`)
const PLAIN_BAR = /\[[#.]+\]\s+\d+%/
/**
 * Neither variable set, whatever the test runner's environment has: each case
 * sets its own (child_process leaves out undefined values; an empty one would
 * still make Node warn when the other is set).
 */
const NEUTRAL = { NO_COLOR: undefined, FORCE_COLOR: undefined }

/** Drop SGR escapes: what a person reads. */
function visible (text: string): string {
  return text.replaceAll(/\u001b\[\d+m/g, '') // eslint-disable-line no-control-regex
}

function quote (arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

/** `shoal ARGS` under `script`: stdin, stdout and stderr are a pseudo-terminal (both streams end up in `output`). */
async function underTty (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number, output: string }> {
  const command = [process.execPath, CLI, ...args].map(quote).join(' ')
  return await new Promise(resolve => {
    execFile('/bin/sh', ['-c', `script -qfec ${quote(command)} /dev/null < /dev/null`], {
      env: { ...process.env, TERM: 'xterm', ...NEUTRAL, ...env },
      maxBuffer: 16 * 1024 * 1024,
      timeout: 60_000
    }, (err, stdout) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, output: stdout })
    })
  })
}

/** `shoal ARGS` with stdout and stderr piped. */
async function piped (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return await shoal(args, { env: { ...NEUTRAL, ...env } })
}

describe('error lines', () => {
  let repo: string
  beforeAll(async () => { repo = path.join(await tempDir(), 'no-daemon') })
  afterAll(async () => { await fs.rm(path.dirname(repo), { recursive: true, force: true }) })

  it('on a terminal "error:" is red; NO_COLOR keeps the same text without escapes', async () => {
    const tty = await underTty(['status', '--repo', repo])
    expect(tty.code).toBe(3)
    expect(tty.output).toContain(`shoal: ${RED_ERROR} no shoal daemon is running`)
    const noColour = await underTty(['status', '--repo', repo], { NO_COLOR: '1' })
    expect(noColour.code).toBe(3)
    expect(noColour.output).not.toContain(ESC)
    expect(noColour.output).toBe(visible(tty.output))
  })

  it('piped: plain, unless FORCE_COLOR asks for colour', async () => {
    const plain = await piped(['status', '--repo', repo])
    expect(plain.code).toBe(3)
    expect(plain.stderr).toMatch(/^shoal: error: no shoal daemon is running on .*\n {2}start one with: shoal daemon .*\[DAEMON_NOT_RUNNING\]\n$/)
    expect(plain.stderr).not.toContain(ESC)
    const forced = await piped(['status', '--repo', repo], { FORCE_COLOR: '1' })
    expect(forced.stderr).toContain(`shoal: ${RED_ERROR} no shoal daemon`)
    expect(visible(forced.stderr)).toBe(plain.stderr)
    expect((await piped(['status', '--repo', repo], { FORCE_COLOR: '0' })).stderr).toBe(plain.stderr)
  })

  it('--json: never an escape, on a terminal or forced', async () => {
    const tty = await underTty(['status', '--repo', repo, '--json'])
    expect(tty.code).toBe(3)
    expect(tty.output).toMatch(/^shoal: error: no shoal daemon is running/m)
    expect(tty.output).toMatch(/\[DAEMON_NOT_RUNNING\]\r?\n$/)
    expect(tty.output).not.toContain(ESC)
    const forced = await piped(['status', '--repo', repo, '--json'], { FORCE_COLOR: '1' })
    expect(forced.code).toBe(3)
    expect(forced.stderr + forced.stdout).not.toContain(ESC)
  })
})

describe('share and fetch output', () => {
  let dir: string
  let a: Daemon
  let b: Daemon
  let src: string
  let ticket: string
  let n = 0
  const out = (): string => path.join(dir, `copy-${n++}.bin`)

  beforeAll(async () => {
    dir = await tempDir()
    ;[a, b] = await Promise.all([startDaemon(path.join(dir, 'a')), startDaemon(path.join(dir, 'b'))])
    src = path.join(dir, 'two.bin')
    await writeRandomFile(src, 2 * 1024 * 1024 + 777, 21)
    ;({ ticket } = await shareFile(a, src))
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('fetch on a terminal: coloured bar and a green "saved"; NO_COLOR: the same lines, no escapes', async () => {
    const tty = await underTty(['fetch', ticket, '-o', out(), '--repo', b.repo])
    expect(tty.code, tty.output).toBe(0)
    expect(tty.output).toMatch(COLOURED_BAR)
    expect(tty.output).toContain(`${GREEN('saved')} ${dir}`)
    expect(visible(tty.output)).toMatch(PLAIN_BAR)

    const noColour = await underTty(['fetch', ticket, '-o', out(), '--repo', b.repo], { NO_COLOR: '1' })
    expect(noColour.code, noColour.output).toBe(0)
    expect(noColour.output).not.toContain(ESC)
    expect(noColour.output).toMatch(PLAIN_BAR)
    expect(noColour.output).toMatch(/^saved .*copy-1\.bin \(2\.0 MiB in .*, verified\)\r?$/m)
  })

  it('fetch piped: no bar, no escapes; FORCE_COLOR colours the result line but draws no bar', async () => {
    const plain = await piped(['fetch', ticket, '-o', out(), '--repo', b.repo])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout).toMatch(/^saved .*\.bin \(2\.0 MiB in .*, verified\)\n$/)
    expect(plain.stderr).toBe('')
    expect(plain.stdout).not.toContain(ESC)

    const forced = await piped(['fetch', ticket, '-o', out(), '--repo', b.repo], { FORCE_COLOR: '1' })
    expect(forced.code, forced.stderr).toBe(0)
    expect(forced.stdout).toMatch(new RegExp(`^\\u001b\\[32msaved\\u001b\\[39m .*\\.bin \\(2\\.0 MiB in .*, verified\\)\\n$`))
    expect(forced.stderr).toBe('') // progress needs a terminal, colour or not
  })

  it('fetch --json: NDJSON only, without escapes, on a terminal and forced', async () => {
    for (const res of [
      await underTty(['fetch', ticket, '-o', out(), '--repo', b.repo, '--json'], { FORCE_COLOR: '1' }),
      await piped(['fetch', ticket, '-o', out(), '--repo', b.repo, '--json'], { FORCE_COLOR: '1' }).then(r => ({ code: r.code, output: r.stdout + r.stderr }))
    ]) {
      expect(res.code, res.output).toBe(0)
      expect(res.output).not.toContain(ESC)
      const lines = res.output.trim().split(/\r?\n/)
      for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow()
      expect(JSON.parse(lines[lines.length - 1] ?? '{}')).toMatchObject({ type: 'done', done: true })
    }
  })

  it('share: a green "shared" and a bold command to run on a terminal; plain when piped or NO_COLOR', async () => {
    const tty = await underTty(['share', src, '--repo', a.repo])
    expect(tty.code, tty.output).toBe(0)
    expect(tty.output).toContain(`${GREEN('shared')} two.bin (2.0 MiB, 3 chunks)`)
    expect(tty.output).toContain(`  ${ESC}1mshoal fetch shoal1`)

    const noColour = await underTty(['share', src, '--repo', a.repo], { NO_COLOR: '1' })
    expect(noColour.output).not.toContain(ESC)
    expect(noColour.output).toMatch(/^shared two\.bin \(2\.0 MiB, 3 chunks\)\r?$/m)

    const plain = await piped(['share', src, '--repo', a.repo])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout).toMatch(/^shared two\.bin \(2\.0 MiB, 3 chunks\)\ncontent id: bafy/)
    expect(plain.stdout + plain.stderr).not.toContain(ESC)
  })
})

describe('config output', () => {
  let repo: string
  beforeAll(async () => { repo = path.join(await tempDir(), 'repo') })
  afterAll(async () => { await fs.rm(path.dirname(repo), { recursive: true, force: true }) })

  it('on a terminal "saved" is green and unset keys dim; piped, --json and NO_COLOR are plain', async () => {
    const set = await underTty(['config', 'set', 'mdns', 'false', '--repo', repo])
    expect(set.code, set.output).toBe(0)
    expect(set.output).toContain(`${GREEN('saved')} ${repo}`)
    const show = await underTty(['config', 'show', '--repo', repo])
    expect(show.output).toMatch(/^mdns\s+false\r?$/m)
    expect(show.output).toContain(`${ESC}2m(not set)${ESC}22m`)

    expect((await underTty(['config', 'show', '--repo', repo], { NO_COLOR: '1' })).output).not.toContain(ESC)
    const plain = await piped(['config', 'set', 'mdns', 'true', '--repo', repo])
    expect(plain.stderr).toMatch(/^saved .*config\.json; a running daemon applies it/)
    expect(plain.stdout + plain.stderr).not.toContain(ESC)
    const json = await underTty(['config', 'show', '--repo', repo, '--json'], { FORCE_COLOR: '1' })
    expect(json.output).not.toContain(ESC)
    expect(JSON.parse(json.output)).toEqual({ mdns: true })
  })
})
