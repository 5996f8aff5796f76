import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO_CONFIG_FILE, validateConfig } from '@shoal/protocol'
import { REPO_FILES } from '../../daemon/src/constants.js'
import { configKey, formatConfigValue, parseConfigValue, renderConfig, writeConfigFile } from '../src/commands/config.js'
import { exitCodeFor } from '../src/exit-codes.js'

describe('shoal config values', () => {
  it('lists take repeated values or one JSON array', () => {
    expect(parseConfigValue('listen', ['/ip4/127.0.0.1/tcp/0'])).toEqual({ key: 'listen', value: ['/ip4/127.0.0.1/tcp/0'] })
    expect(parseConfigValue('listen', ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001']).value).toEqual(['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'])
    expect(parseConfigValue('bootstrap', ['["/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWx"]']).value).toEqual(['/ip4/192.0.2.7/tcp/4001/p2p/12D3KooWx'])
    expect(parseConfigValue('bootstrap', ['[]']).value).toEqual([])
  })

  it('mdns is true or false, network lan or public', () => {
    expect(parseConfigValue('mdns', ['false']).value).toBe(false)
    expect(parseConfigValue('mdns', ['true']).value).toBe(true)
    expect(parseConfigValue('network', ['public']).value).toBe('public')
  })

  it('a bad key or value is a usage error (exit 2) naming the key', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['lsiten', ['x'], /unknown config key "lsiten" \(known: listen, bootstrap, mdns, network, maxUpload, /],
      ['maxUpload', ['fast'], /"maxUpload": must be a rate such as "10MiB\/s"/],
      ['maxCache', ['big'], /"maxCache": must be a size such as "20GiB"/],
      ['maxCache', ['2MiB/s'], /"maxCache": must be a size/],
      ['relay', ['maybe'], /"relay": must be true or false/],
      ['metrics', ['9464'], /"metrics": must be a "host:port" string/],
      ['mdns', ['yes'], /"mdns": must be true or false/],
      ['mdns', ['true', 'false'], /"mdns": must be true or false \(got 2 values\)/],
      ['network', ['moon'], /"network": must be "lan" or "public"/],
      ['listen', ['0.0.0.0:4001'], /"listen": must be a list of multiaddr strings/],
      ['bootstrap', ['[1, 2'], /"bootstrap": .*not a valid JSON array/],
      ['bootstrap', ['{"a": 1}'], /"bootstrap": must be a list of multiaddr strings/],
      ['listen', ['[42]'], /"listen": must be a list/]
    ]
    for (const [key, values, message] of cases) {
      let caught: unknown
      try { parseConfigValue(key, values) } catch (err) { caught = err }
      expect(caught, `${key} ${values.join(' ')}`).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) })
      expect(exitCodeFor((caught as { code: string }).code)).toBe(2)
    }
    expect(() => configKey('nope')).toThrow(/"nope"/)
  })

  it('what set accepts, the daemon accepts', () => {
    for (const [key, values] of [['listen', ['/ip4/127.0.0.1/tcp/0']], ['bootstrap', ['[]']], ['mdns', ['false']], ['network', ['lan']], ['maxCache', ['20GiB']], ['maxCache', ['0']]] as const) {
      const { value } = parseConfigValue(key, [...values])
      expect(validateConfig({ [key]: value }, 'config.json')).toEqual({ [key]: value })
    }
  })

  it('renders every key, unset ones too, lists one item per line', () => {
    expect(renderConfig({ listen: ['/ip4/a', '/ip4/b'], mdns: false, bootstrap: [], maxUpload: '2MiB/s' })).toEqual([
      'listen              /ip4/a',
      '                    /ip4/b',
      'bootstrap           (empty list)',
      'mdns                false',
      'network             (not set)',
      'maxUpload           2MiB/s',
      'maxDownload         (not set)',
      'maxUploadPerPeer    (not set)',
      'maxDownloadPerPeer  (not set)',
      'maxCache            (not set)',
      'relay               (not set)',
      'upnp                (not set)',
      'metrics             (not set)',
      'gateway             (not set)'
    ])
    expect(formatConfigValue(['x', 'y'])).toEqual(['x', 'y'])
    expect(formatConfigValue('lan')).toEqual(['lan'])
  })

  it('the CLI and the daemon agree on the file name', () => {
    expect(REPO_CONFIG_FILE).toBe(REPO_FILES.config)
  })
})

describe('writing config.json', () => {
  it('creates the repo 0700 and the file 0600, atomically (no temp file left)', async () => {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), 'shoal-cli-config-'))
    try {
      const repo = path.join(base, 'new-repo')
      const file = path.join(repo, REPO_CONFIG_FILE)
      await writeConfigFile(file, { mdns: false })
      expect((await fs.stat(repo)).mode & 0o777).toBe(0o700)
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
      await writeConfigFile(file, { mdns: true, network: 'public' })
      expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ mdns: true, network: 'public' })
      expect(await fs.readdir(repo)).toEqual([REPO_CONFIG_FILE])
    } finally {
      await fs.rm(base, { recursive: true, force: true })
    }
  })
})
