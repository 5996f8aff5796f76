import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { BandwidthLimiter, TokenBucket, limitsFrom } from '../src/transfer/rate-limit.js'
import { RateMeter } from '../src/telemetry/traffic.js'

const A = peerIdFromString('12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8')
const B = peerIdFromString('12D3KooWEJgvSpFQ8aPpXP7rEWsZ85LmZF1P7MUor7VTJ8mMgAhj')

beforeEach(() => { vi.useFakeTimers({ now: 1_000_000 }) })
afterEach(() => { vi.useRealTimers() })

describe('TokenBucket', () => {
  it('lets a burst through, then meters at its rate, going into debt for big takes', () => {
    const bucket = new TokenBucket(1_000_000) // 1 MB/s: burst 100 kB
    expect(bucket.reserve(100_000)).toBe(0)
    // 1 MB more: 1 s of debt
    expect(bucket.reserve(1_000_000)).toBe(1000)
    vi.advanceTimersByTime(1000)
    expect(bucket.reserve(0)).toBe(0)
    // the next waits behind the repaid debt only for its own bytes
    expect(bucket.reserve(500_000)).toBe(500)
  })

  it('refunds what was reserved but never sent', () => {
    const bucket = new TokenBucket(1_000_000)
    bucket.reserve(100_000)
    expect(bucket.reserve(200_000)).toBe(200)
    bucket.refund(200_000)
    expect(bucket.reserve(0)).toBe(0)
  })
})

describe('BandwidthLimiter', () => {
  it('is a no-op without caps', async () => {
    const limiter = new BandwidthLimiter()
    expect(limiter.active).toBe(false)
    await limiter.upload(A, 10_000_000).ready
  })

  it('a per-peer cap holds each peer to its rate; peers do not share it', async () => {
    const limiter = new BandwidthLimiter({ downloadPerPeer: 1_000_000 })
    expect(limiter.limitsDownload).toBe(true)
    expect(limiter.limitsUpload).toBe(false)
    let aDone = false
    let bDone = false
    limiter.download(A, 100_000) // A's burst
    void limiter.download(A, 500_000).ready.then(() => { aDone = true })
    void limiter.download(B, 100_000).ready.then(() => { bDone = true })
    await vi.advanceTimersByTimeAsync(1)
    expect(bDone).toBe(true) // B has its own bucket
    expect(aDone).toBe(false)
    await vi.advanceTimersByTimeAsync(499)
    expect(aDone).toBe(true)
  })

  it('the global cap is shared by all peers', async () => {
    const limiter = new BandwidthLimiter({ upload: 1_000_000 })
    limiter.upload(A, 100_000)
    let bDone = false
    void limiter.upload(B, 300_000).ready.then(() => { bDone = true })
    await vi.advanceTimersByTimeAsync(299)
    expect(bDone).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(bDone).toBe(true)
  })

  it('cancel releases the waiter and gives the room back', async () => {
    const limiter = new BandwidthLimiter({ upload: 1_000_000 })
    limiter.upload(A, 100_000)
    const r = limiter.upload(A, 1_000_000)
    r.cancel()
    await r.ready
    let done = false
    void limiter.upload(A, 50_000).ready.then(() => { done = true })
    await vi.advanceTimersByTimeAsync(50)
    expect(done).toBe(true)
  })
})

describe('limitsFrom', () => {
  it('options override config; rates parse; a bad one names its key', () => {
    expect(limitsFrom({ maxUpload: '2MiB/s' }, { maxUpload: '1MB/s', maxDownloadPerPeer: 500_000 })).toEqual({ upload: 2 * 1024 * 1024, download: 0, uploadPerPeer: 0, downloadPerPeer: 500_000 })
    expect(() => limitsFrom({ maxDownload: 'fast' }, {})).toThrow(/maxDownload: invalid rate "fast"/)
  })
})

describe('RateMeter', () => {
  it('averages over the last 3 s and forgets older traffic', () => {
    const meter = new RateMeter()
    meter.add(3_000_000)
    expect(meter.rate()).toBe(1_000_000)
    vi.advanceTimersByTime(1500)
    meter.add(3_000_000)
    expect(meter.rate()).toBe(2_000_000)
    vi.advanceTimersByTime(2000)
    expect(meter.rate()).toBe(1_000_000)
    vi.advanceTimersByTime(10_000)
    expect(meter.rate()).toBe(0)
  })
})
