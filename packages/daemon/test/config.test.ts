import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { effectiveSettings, readRepoConfig, validateConfig } from '../src/repo/config.js'
import { createShoal } from '../src/index.js'
import { tempDir as newTempDir } from './helpers.js'

/** Every temp dir of this file, removed at the end. */
const dirs: string[] = []
async function tempDir (): Promise<string> {
  const dir = await newTempDir()
  dirs.push(dir)
  return dir
}
afterAll(async () => { await Promise.all(dirs.map(async dir => { await fs.rm(dir, { recursive: true, force: true }) })) })

describe('repo config', () => {
  it('a missing config.json is an empty config', async () => {
    expect(await readRepoConfig(await tempDir())).toEqual({})
  })

  it('names the bad key and what it must be', () => {
    expect(() => validateConfig({ bootstrap: 'not-a-list' }, 'config.json')).toThrow(/"bootstrap" must be a list of multiaddr strings/)
    expect(() => validateConfig({ mdns: 'yes' }, 'config.json')).toThrow(/"mdns" must be true or false/)
    expect(() => validateConfig({ network: 'moon' }, 'config.json')).toThrow(/"network" must be "lan" or "public"/)
    expect(() => validateConfig({ lsiten: [] }, 'config.json')).toThrow(/unknown key "lsiten"/)
    expect(() => validateConfig([], 'config.json')).toThrow(/JSON object/)
  })

  it('invalid JSON is a REPO_INVALID error naming the file', async () => {
    const dir = await tempDir()
    await fs.writeFile(path.join(dir, 'config.json'), '{ listen: ')
    await expect(readRepoConfig(dir)).rejects.toMatchObject({ code: 'REPO_INVALID', message: expect.stringContaining('config.json is not valid JSON') })
  })

  it('effective settings: each key given as an option wins over the file; options that are not settings stay out', () => {
    const settings = effectiveSettings(
      { relay: false, maxUpload: undefined, listen: ['/ip4/127.0.0.2/tcp/0'], repo: '/x' } as Parameters<typeof effectiveSettings>[0],
      { relay: true, maxUpload: '1MB/s', mdns: false }
    )
    expect(settings).toEqual({ relay: false, maxUpload: '1MB/s', mdns: false, listen: ['/ip4/127.0.0.2/tcp/0'] })
  })

  it('config overrides defaults, options override config', async () => {
    const dir = await tempDir()
    const repo = path.join(dir, 'node')
    await fs.mkdir(repo, { recursive: true, mode: 0o700 })
    await fs.writeFile(path.join(repo, 'config.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }))
    const fromConfig = await createShoal({ repo, controlSocket: false })
    await fromConfig.start()
    try {
      expect(fromConfig.addrs().every(a => a.startsWith('/ip4/127.0.0.1/'))).toBe(true)
    } finally {
      await fromConfig.stop()
    }
    const overridden = await createShoal({ repo, controlSocket: false, listen: ['/ip4/127.0.0.2/tcp/0'] })
    await overridden.start()
    try {
      expect(overridden.addrs().every(a => a.startsWith('/ip4/127.0.0.2/'))).toBe(true)
    } finally {
      await overridden.stop()
    }
  })

  it('a bad config stops the daemon from starting, with the reason', async () => {
    const dir = await tempDir()
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify({ bootstrap: [42] }))
    const shoal = await createShoal({ repo: dir, controlSocket: false })
    await expect(shoal.start()).rejects.toMatchObject({ code: 'REPO_INVALID', message: expect.stringContaining('"bootstrap"') })
  })
})
