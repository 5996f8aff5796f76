import { describe, expect, it } from 'vitest'
import { ErrorCode, globToRegExp, normalizeGlob, selectFiles } from '../src/index.js'

const files = ['a.txt', 'docs/readme.md', 'docs/guide/intro.md', 'videos/a.mp4', 'videos/b.mkv', 'videos/old/c.mp4', 'x[1].bin'].map(path => ({ path }))
const dirs = ['docs/empty', 'videos/old/none']

const pick = (...patterns: string[]): string[] => selectFiles(files, dirs, patterns).files.map(i => files[i]?.path ?? '')

describe('--only patterns', () => {
  it('a plain path selects that file; a directory selects everything below it', () => {
    expect(pick('a.txt')).toEqual(['a.txt'])
    expect(pick('docs')).toEqual(['docs/readme.md', 'docs/guide/intro.md'])
    expect(pick('./docs/')).toEqual(['docs/readme.md', 'docs/guide/intro.md'])
    expect(selectFiles(files, dirs, ['docs']).dirs).toEqual(['docs/empty'])
  })

  it('* and ? stay inside a segment, ** crosses them', () => {
    expect(pick('videos/*.mp4')).toEqual(['videos/a.mp4'])
    expect(pick('**/*.mp4')).toEqual(['videos/a.mp4', 'videos/old/c.mp4'])
    expect(pick('videos/**')).toEqual(['videos/a.mp4', 'videos/b.mkv', 'videos/old/c.mp4'])
    expect(pick('videos/?.mkv')).toEqual(['videos/b.mkv'])
    expect(pick('*')).toEqual(files.map(f => f.path)) // every top-level entry, and what is below the directories
  })

  it('classes and alternatives; regex characters are literal', () => {
    expect(pick('videos/[ab].*')).toEqual(['videos/a.mp4', 'videos/b.mkv'])
    expect(pick('videos/[!a].*')).toEqual(['videos/b.mkv'])
    expect(pick('videos/*.{mp4,mkv}')).toEqual(['videos/a.mp4', 'videos/b.mkv'])
    expect(pick('x[1].bin')).toEqual([]) // a class: x1.bin
    expect(globToRegExp('a.b+c').test('a.b+c')).toBe(true)
    expect(globToRegExp('a.b+c').test('aXbbc')).toBe(false)
  })

  it('names the patterns that match nothing', () => {
    expect(selectFiles(files, dirs, ['docs', 'nope/*', 'zzz']).unmatched).toEqual(['nope/*', 'zzz'])
  })

  it('refuses patterns that leave the share or select nothing', () => {
    for (const bad of ['', '  ', '/etc/passwd', '../x', 'a/../../b', 'a\\b', 'a\0b']) {
      expect(() => normalizeGlob(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }))
    }
  })
})
