import { describe, expect, it } from 'vitest'
import { isRate, parseRate } from '../src/rates.js'
import { isHostPort, validateConfig } from '../src/config.js'

describe('parseRate', () => {
  it('reads SI and binary units, with or without /s', () => {
    expect(parseRate('10MiB/s')).toBe(10 * 1024 * 1024)
    expect(parseRate('800KB/s')).toBe(800_000)
    expect(parseRate('1.5M')).toBe(1_500_000)
    expect(parseRate('250k')).toBe(250_000)
    expect(parseRate('2 GiB')).toBe(2 * 1024 ** 3)
    expect(parseRate('4096')).toBe(4096)
    expect(parseRate(123_456.7)).toBe(123_456)
  })

  it('0, none and unlimited mean no cap', () => {
    expect(parseRate('0')).toBe(0)
    expect(parseRate(0)).toBe(0)
    expect(parseRate('none')).toBe(0)
    expect(parseRate('Unlimited')).toBe(0)
  })

  it('rejects what is not a rate, naming it', () => {
    for (const bad of ['fast', '-1', '10 MiB/h', '1e9', '', 'MiB', '2TB']) {
      expect(() => parseRate(bad), bad).toThrow(/invalid rate/)
      expect(isRate(bad)).toBe(false)
    }
    expect(() => parseRate(-5)).toThrow(/invalid rate/)
    // below 1 KiB/s a chunk would take days: refused, not rounded to "unlimited"
    expect(() => parseRate('0.5')).toThrow(/less than 1 KiB\/s/)
    expect(() => parseRate('100')).toThrow(/less than 1 KiB\/s/)
    expect(() => parseRate(10)).toThrow(/invalid rate/)
    expect(() => parseRate(Number.NaN)).toThrow(/invalid rate/)
    expect(isRate(true)).toBe(false)
  })
})

describe('config keys for limits, relay and metrics', () => {
  it('accepts good values and names the bad key', () => {
    expect(validateConfig({ maxUpload: '2MiB/s', maxDownloadPerPeer: 100_000, relay: true, upnp: false, metrics: '127.0.0.1:9464' }, 'c.json')).toMatchObject({ maxUpload: '2MiB/s', relay: true })
    expect(() => validateConfig({ maxUpload: 'lots' }, 'c.json')).toThrow(/"maxUpload" must be a rate/)
    expect(() => validateConfig({ relay: 'yes' }, 'c.json')).toThrow(/"relay" must be true or false/)
    expect(() => validateConfig({ metrics: '9464' }, 'c.json')).toThrow(/"metrics" must be a "host:port"/)
  })

  it('isHostPort', () => {
    expect(isHostPort('127.0.0.1:0')).toBe(true)
    expect(isHostPort('[::1]:9464')).toBe(true)
    expect(isHostPort('localhost:65536')).toBe(false)
    expect(isHostPort('127.0.0.1')).toBe(false)
  })
})
