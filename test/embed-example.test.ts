/**
 * The README's embedding example runs as users run it (`npx tsx
 * examples/embed.ts`, against the built packages) and does what it says: a
 * verified, identical copy, typed progress events on the way, both nodes
 * stopped and the temporary directory gone.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { ROOT } from './harness.js'

async function runExample (): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile('npx', ['tsx', 'examples/embed.ts'], { cwd: ROOT, timeout: 110_000, maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

describe('examples/embed.ts', () => {
  it('shares, fetches with progress, gets an identical copy, and cleans up', async () => {
    const { code, stdout, stderr } = await runExample()
    const why = `stdout:\n${stdout}\nstderr:\n${stderr}`
    expect(code, why).toBe(0)
    const lines = stdout.trim().split('\n')

    expect(lines[0], why).toMatch(/^alice shares hello\.bin: bafy[a-z2-7]+ \(8 chunks\)$/)
    // the FetchEvents in the order the daemon emits them, ending complete
    const events = lines.filter(l => l.startsWith('  bob: ')).map(l => l.slice('  bob: '.length))
    expect(events[0], why).toBe('resolving')
    expect(events[1], why).toBe('manifest')
    expect(events[events.length - 1], why).toBe('done')
    const progress = events.filter(e => /chunks/.test(e))
    expect(progress.length, why).toBeGreaterThan(0)
    for (const p of progress) expect(p).toMatch(/^\d\/8 chunks, \d+\/8388608 bytes$/)
    expect(progress[progress.length - 1]).toBe('8/8 chunks, 8388608/8388608 bytes')

    const saved = /^bob saved (\S+) in \d+\.\d\d s; identical: (true|false)$/.exec(lines[lines.length - 1] ?? '')
    expect(saved, why).not.toBeNull()
    expect(saved?.[2]).toBe('true')
    // the example removes its temporary directory, copy included
    await expect(fs.access(saved?.[1] ?? '')).rejects.toMatchObject({ code: 'ENOENT' })
  })
})
