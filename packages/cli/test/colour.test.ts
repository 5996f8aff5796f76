import { afterEach, describe, expect, it, vi } from 'vitest'
import { colourEnabled, painter, plain } from '../src/colour.js'
import { renderConfig } from '../src/commands/config.js'
import { renderShare } from '../src/commands/share.js'
import { outputOf } from '../src/context.js'
import { paintBar, progressLine } from '../src/format.js'
import { StatusLine } from '../src/progress.js'

const ESC = '\u001b['
const tty = { isTTY: true }
const pipe = { isTTY: false }
const paint = painter(true)

describe('colourEnabled', () => {
  it('colours a terminal, never a pipe or a file', () => {
    expect(colourEnabled(tty, {})).toBe(true)
    expect(colourEnabled(pipe, {})).toBe(false)
    expect(colourEnabled({}, {})).toBe(false)
    expect(colourEnabled(tty, { TERM: 'dumb' })).toBe(false)
  })

  it('NO_COLOR present and not empty turns it off, whatever its value (no-color.org)', () => {
    expect(colourEnabled(tty, { NO_COLOR: '1' })).toBe(false)
    expect(colourEnabled(tty, { NO_COLOR: '0' })).toBe(false)
    expect(colourEnabled(tty, { NO_COLOR: 'false' })).toBe(false)
    expect(colourEnabled(tty, { NO_COLOR: '' })).toBe(true)
    expect(colourEnabled(tty, { NO_COLOR: '1', FORCE_COLOR: '' })).toBe(false)
  })

  it('FORCE_COLOR turns it on for a pipe, and 0 or false off on a terminal', () => {
    expect(colourEnabled(pipe, { FORCE_COLOR: '1' })).toBe(true)
    expect(colourEnabled(pipe, { FORCE_COLOR: '3' })).toBe(true)
    expect(colourEnabled(pipe, { FORCE_COLOR: 'true' })).toBe(true)
    expect(colourEnabled(pipe, { FORCE_COLOR: '' })).toBe(false)
    expect(colourEnabled(tty, { FORCE_COLOR: '0' })).toBe(false)
    expect(colourEnabled(tty, { FORCE_COLOR: 'false' })).toBe(false)
    // asked for this run, it wins over NO_COLOR, as in Node itself
    expect(colourEnabled(pipe, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(true)
  })
})

describe('painter', () => {
  it('wraps text in SGR codes that switch only that style off', () => {
    expect(paint('red', 'error:')).toBe(`${ESC}31merror:${ESC}39m`)
    expect(paint('green', 'saved')).toBe(`${ESC}32msaved${ESC}39m`)
    expect(paint('dim', '...')).toBe(`${ESC}2m...${ESC}22m`)
    expect(paint('bold', '')).toBe('')
  })

  it('is the identity when off', () => {
    expect(painter(false)('red', 'error:')).toBe('error:')
    expect(plain('green', 'saved')).toBe('saved')
  })
})

describe('coloured rendering', () => {
  it('colours the progress bar and leaves the figures alone', () => {
    const line = progressLine(512, 1024, 100, 1, 4)
    expect(paintBar(line, plain)).toBe(line)
    const coloured = paintBar(line, paint)
    expect(coloured).toBe(`[${ESC}36m##${ESC}39m${ESC}2m..${ESC}22m]${line.slice(6)}`)
    expect(coloured.replaceAll(/\u001b\[\d+m/g, '')).toBe(line) // eslint-disable-line no-control-regex
  })

  it('a coloured status line is cut and padded by what shows, not by its escapes', () => {
    let text = ''
    const line = new StatusLine({ write: (t: string) => { text += t }, columns: 12 }, paint)
    line.update('[##..] 50%  a long tail')
    line.update('[####] 100%')
    const visible = text.replaceAll(/\u001b\[\d+m/g, '') // eslint-disable-line no-control-regex
    expect(visible).toBe('\r[##..] 50% \r[####] 100%')
    expect(text).toContain(`[${ESC}36m####${ESC}39m]`)
  })

  it('share and config show colour only through the painter they are given', () => {
    const result = { cid: 'bafy', ticket: 'shoal1x', name: 'a.bin', path: '/a.bin', kind: 'file' as const, size: 3, files: 1, chunks: 1, skipped: { count: 0, byReason: { symlink: 0, special: 0, name: 0 }, first: [] } }
    expect(renderShare(result).join('\n')).not.toContain(ESC)
    expect(renderShare(result, paint)[0]).toBe(`${ESC}32mshared${ESC}39m a.bin (3 B, 1 chunk)`)
    expect(renderConfig({ mdns: false }).join('\n')).not.toContain(ESC)
    expect(renderConfig({ mdns: false }, paint)).toContain(`listen${' '.repeat(14)}${ESC}2m(not set)${ESC}22m`)
  })
})

describe('Output.paint', () => {
  afterEach(() => { vi.unstubAllEnvs() })

  it('--json is never coloured, even when forced', () => {
    vi.stubEnv('NO_COLOR', '')
    vi.stubEnv('FORCE_COLOR', '1')
    const json = outputOf({ json: true, quiet: false, debug: false })
    expect(json.paint.out('green', 'x')).toBe('x')
    expect(json.paint.err('red', 'x')).toBe('x')
    const human = outputOf({ json: false, quiet: false, debug: false })
    expect(human.paint.out('green', 'x')).toBe(`${ESC}32mx${ESC}39m`)
  })

  it('NO_COLOR turns both streams off', () => {
    vi.stubEnv('NO_COLOR', '1')
    vi.stubEnv('FORCE_COLOR', '')
    const out = outputOf({ json: false, quiet: false, debug: false })
    expect(out.paint.out('green', 'x')).toBe('x')
    expect(out.paint.err('red', 'x')).toBe('x')
  })
})
