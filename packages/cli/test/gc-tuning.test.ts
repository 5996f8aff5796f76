import { describe, expect, it } from 'vitest'
import { tuneGarbageCollector } from '../src/gc-tuning.js'

describe('tuneGarbageCollector', () => {
  it('leaves a marking flag the user chose on the command line or in NODE_OPTIONS alone', () => {
    expect(tuneGarbageCollector({}, ['--incremental-marking'])).toBe(false)
    expect(tuneGarbageCollector({ NODE_OPTIONS: '--max-old-space-size=4096 --no-incremental_marking' }, [])).toBe(false)
    expect(tuneGarbageCollector({ SHOAL_INCREMENTAL_MARKING: '1' }, [])).toBe(false)
  })

  it('turns incremental marking off otherwise', () => {
    expect(tuneGarbageCollector({ NODE_OPTIONS: '--max-old-space-size=4096' }, [])).toBe(true)
  })
})
