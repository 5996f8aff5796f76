import { describe, expect, it } from 'vitest'
import {
  HASH_PROGRESS_MIN_BYTES, bar, fitToWidth, formatBytes, formatDuration, formatRate, hashingLine, progressLine, showsHashing
} from '../src/format.js'

const KiB = 1024
const MiB = 1024 * KiB

describe('formatBytes', () => {
  it('keeps bytes exact and uses binary units above', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1)).toBe('1 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1024)).toBe('1.0 KiB')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(3 * MiB + 1)).toBe('3.0 MiB')
    expect(formatBytes(286 * MiB)).toBe('286 MiB')
    expect(formatBytes(5 * 1024 * 1024 * MiB)).toBe('5.0 TiB')
  })

  it('never shows a rounded value that belongs to the next unit or precision', () => {
    expect(formatBytes(1023.96 * KiB)).toBe('1.0 MiB') // not "1024 KiB"
    expect(formatBytes(MiB - 1)).toBe('1.0 MiB')
    expect(formatBytes(99.96 * KiB)).toBe('100 KiB') // not "100.0 KiB"
  })

  it('copes with negative and non-finite input', () => {
    expect(formatBytes(-2048)).toBe('-2.0 KiB')
    expect(formatBytes(Number.NaN)).toBe('-- B')
  })

  it('rates are sizes per second', () => {
    expect(formatRate(0)).toBe('0 B/s')
    expect(formatRate(80.1 * MiB)).toBe('80.1 MiB/s')
  })
})

describe('formatDuration', () => {
  it('picks a unit by magnitude', () => {
    expect(formatDuration(0)).toBe('0 ms')
    expect(formatDuration(0.25)).toBe('250 ms')
    expect(formatDuration(1.7)).toBe('1.7 s')
    expect(formatDuration(59.9)).toBe('59.9 s')
    expect(formatDuration(187)).toBe('3m07s')
    expect(formatDuration(2 * 3600 + 5 * 60)).toBe('2h05m')
  })

  it('rounds across unit boundaries without "60" in a field', () => {
    expect(formatDuration(59.97)).toBe('1m00s')
    expect(formatDuration(119.6)).toBe('2m00s')
    expect(formatDuration(3599.6)).toBe('1h00m')
  })

  it('unknown durations are --', () => {
    expect(formatDuration(-1)).toBe('--')
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('--')
    expect(formatDuration(Number.NaN)).toBe('--')
  })
})

describe('progress lines', () => {
  it('bar fills in proportion and clamps', () => {
    expect(bar(0, 10)).toBe('[..........]')
    expect(bar(0.5, 10)).toBe('[#####.....]')
    expect(bar(1, 10)).toBe('[##########]')
    expect(bar(7, 4)).toBe('[####]')
    expect(bar(-1, 4)).toBe('[....]')
    expect(bar(Number.NaN, 4)).toBe('[....]')
  })

  it('a fetch line has bar, percent, bytes, rate, peers and ETA', () => {
    const line = progressLine(12 * MiB, 40 * MiB, 80 * MiB, 2)
    expect(line).toBe(`[${'#'.repeat(7)}${'.'.repeat(17)}]  30%  12.0 MiB/40.0 MiB  80.0 MiB/s  2 peers  ETA 350 ms`)
    expect(progressLine(0, MiB, 0, 1).endsWith('  0%  0 B/1.0 MiB  0 B/s  1 peer  ETA --')).toBe(true)
  })

  it('a complete fetch line drops rate, peers and ETA', () => {
    expect(progressLine(40 * MiB, 40 * MiB, 8 * MiB, 0)).toBe(`[${'#'.repeat(24)}] 100%  40.0 MiB/40.0 MiB`)
    expect(progressLine(0, 0, 0, 0)).toBe(`[${'#'.repeat(24)}] 100%  0 B/0 B`)
  })

  it('matches the pattern the TTY end-to-end test looks for', () => {
    expect(progressLine(1, 3, 1, 1)).toMatch(/\[[#.]+\]\s+\d+%/)
  })

  it('a hashing line shows how much of the input is hashed', () => {
    expect(hashingLine(MiB, 8 * MiB, 8)).toBe('hashing [#.......]  12%  1.0 MiB/8.0 MiB')
    expect(hashingLine(0, 0, 4)).toBe('hashing [####] 100%  0 B/0 B')
  })

  it('only big inputs show hashing progress', () => {
    expect(showsHashing(HASH_PROGRESS_MIN_BYTES - 1)).toBe(false)
    expect(showsHashing(HASH_PROGRESS_MIN_BYTES)).toBe(true)
  })

  it('fits a status line to the terminal, one column short', () => {
    expect(fitToWidth('abcdef', 4)).toBe('abc')
    expect(fitToWidth('abc', 4)).toBe('abc')
    expect(fitToWidth('abcdef', undefined)).toBe('abcdef')
    expect(fitToWidth('abcdef', 0)).toBe('abcdef') // a pty that reports no size
  })
})
