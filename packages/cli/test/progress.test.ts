import { describe, expect, it } from 'vitest'
import { isInteractive } from '../src/context.js'
import { StatusLine } from '../src/progress.js'

function sink (columns?: number): { text: string, write(t: string): void, columns?: number } {
  const s = { text: '', write (t: string) { s.text += t }, ...(columns !== undefined ? { columns } : {}) }
  return s
}

describe('StatusLine', () => {
  it('redraws in place and blanks what a shorter line leaves behind', () => {
    const out = sink()
    const line = new StatusLine(out)
    line.update('hello world')
    line.update('bye')
    expect(out.text).toBe('\rhello world\rbye        ')
  })

  it('finish keeps the line and moves below it, once', () => {
    const out = sink()
    const line = new StatusLine(out)
    line.finish()
    expect(out.text).toBe('') // nothing drawn: nothing to end
    line.update('50%')
    line.finish()
    line.finish()
    expect(out.text).toBe('\r50%\n')
  })

  it('clear erases the line', () => {
    const out = sink()
    const line = new StatusLine(out)
    line.update('abcd')
    line.clear()
    expect(out.text).toBe('\rabcd\r    \r')
  })

  it('never wraps on a narrow terminal', () => {
    const out = sink(8)
    new StatusLine(out).update('0123456789')
    expect(out.text).toBe('\r0123456')
  })
})

describe('when output is interactive', () => {
  const plain = { json: false, quiet: false }
  it('only on a terminal, never with --json or --quiet, never on TERM=dumb', () => {
    expect(isInteractive(plain, true, {})).toBe(true)
    expect(isInteractive(plain, false, {})).toBe(false)
    expect(isInteractive({ json: true, quiet: false }, true, {})).toBe(false)
    expect(isInteractive({ json: false, quiet: true }, true, {})).toBe(false)
    expect(isInteractive(plain, true, { TERM: 'dumb' })).toBe(false)
  })
})
