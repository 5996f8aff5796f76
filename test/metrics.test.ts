import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLI, ndjson, sha256File, shoal, startDaemon, stopAll, tempDir, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'
import { sample, scrape } from './prometheus.js'

const MiB = 1024 * 1024
const URL_FORM = /^http:\/\/127\.0\.0\.1:\d+\/metrics$/


async function metricsUrlOf (d: Daemon): Promise<string> {
  const ready = await d.waitForEvent(e => e.event === 'ready')
  expect(ready.metrics).toMatch(URL_FORM)
  return ready.metrics as string
}

describe('shoal daemon --metrics', () => {
  let dir: string
  let a: Daemon
  let b: Daemon

  beforeAll(async () => {
    dir = await tempDir()
    ;[a, b] = await Promise.all([
      startDaemon(path.join(dir, 'a'), ['--metrics', '127.0.0.1:0']),
      startDaemon(path.join(dir, 'b'), ['--metrics', '127.0.0.1:0'])
    ])
  })

  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('reports the URL in the ready event and in status', async () => {
    const url = await metricsUrlOf(a)
    const json = await a.cli(['status', '--json'])
    expect(json.code, json.stderr).toBe(0)
    expect((JSON.parse(json.stdout) as { metrics?: string }).metrics).toBe(url)
    const human = await a.cli(['status'])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain(`metrics:     ${url}\n`)
    const res = await fetch(url.replace(/\/metrics$/, '/other'))
    expect(res.status).toBe(404)
  })

  it('counts a real share and fetch: libp2p metrics, verified chunks, bytes per peer', async () => {
    const size = 5 * MiB + 1 // 6 chunks
    const src = path.join(dir, 'data.bin')
    await writeRandomFile(src, size, 11)
    const { ticket } = await shareFile(a, src)
    const out = path.join(dir, 'copy.bin')
    const fetched = await b.cli(['fetch', ticket, '-o', out, '--json'])
    expect(fetched.code, fetched.stderr + b.log()).toBe(0)
    expect(ndjson(fetched.stdout).pop()).toMatchObject({ done: true, path: out })
    expect(await sha256File(out)).toBe(await sha256File(src))

    const fromB = await scrape(await metricsUrlOf(b))
    expect(fromB).toMatch(/^libp2p_\w+/m)
    expect(fromB).toMatch(/^libp2p_connection_manager_connections\{/m)
    expect(sample(fromB, 'shoal_chunks_verified_total')).toBe(6)
    expect(sample(fromB, 'shoal_chunks_rejected_total')).toBe(0)
    expect(sample(fromB, 'shoal_downloaded_bytes_total', { peer: a.peerId })).toBe(size)
    expect(sample(fromB, 'shoal_active_transfers')).toBe(0)
    expect(sample(fromB, 'shoal_shares')).toBe(1)

    const fromA = await scrape(await metricsUrlOf(a))
    expect(sample(fromA, 'shoal_uploaded_bytes_total', { peer: b.peerId })).toBe(size)
    expect(sample(fromA, 'shoal_chunks_verified_total')).toBe(0)
    expect(sample(fromA, 'shoal_shares')).toBe(1)
    // libp2p's own byte counts include the xfer protocol's traffic
    expect(sample(fromA, 'libp2p_data_transfer_bytes_total', { protocol: '/shoal/xfer/2.0.0 sent' })).toBeGreaterThanOrEqual(size)
  })
})

describe('shoal daemon --metrics: text output, config and bad addresses', () => {
  let dir: string
  beforeAll(async () => { dir = await tempDir() })
  afterAll(async () => {
    await stopAll()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('prints "metrics on URL" when ready, and serves it until stopped', async () => {
    const repo = path.join(dir, 'human')
    const proc = spawn(process.execPath, [CLI, 'daemon', '--repo', repo, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--metrics', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>(resolve => { proc.once('exit', code => { resolve(code) }) })
    let text = ''
    const url = await new Promise<string>((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString()
        const m = /^ {2}metrics on (\S+)$/m.exec(text)
        if (m !== null) resolve(m[1] as string)
      })
      proc.stderr.on('data', (chunk: Buffer) => { text += chunk.toString() })
      void exited.then(code => { reject(new Error(`daemon exited with ${String(code)}:\n${text}`)) })
    })
    try {
      expect(url).toMatch(URL_FORM)
      expect(await scrape(url)).toMatch(/^shoal_shares 0$/m)
    } finally {
      const stopped = await shoal(['stop', '--repo', repo])
      expect(stopped.code, stopped.stderr).toBe(0)
      expect(await exited).toBe(0)
    }
    await expect(fetch(url)).rejects.toThrow() // the endpoint closed with the daemon
  })

  it('takes "metrics" from config.json when no flag is given', async () => {
    const repo = path.join(dir, 'configured')
    const set = await shoal(['config', 'set', 'metrics', '127.0.0.1:0', '--repo', repo])
    expect(set.code, set.stderr).toBe(0)
    const d = await startDaemon(repo)
    expect(await scrape(await metricsUrlOf(d))).toMatch(/^shoal_chunks_verified_total 0$/m)
    expect(await d.kill()).toBe(0)
  })

  it('rejects a malformed --metrics with exit 2 before starting', async () => {
    for (const bad of ['9464', 'localhost', '127.0.0.1:99999', 'http://127.0.0.1:9464']) {
      const res = await shoal(['daemon', '--repo', path.join(dir, 'bad'), '--no-mdns', '--metrics', bad])
      expect(res.code, bad).toBe(2)
      expect(res.stderr).toBe(`shoal: error: --metrics must be HOST:PORT such as 127.0.0.1:9464, not ${JSON.stringify(bad)} [INVALID_ADDRESS]\n`)
      expect(res.stdout).toBe('')
    }
  })

  it('an address in use, or not on this machine, exits 2 naming it', async () => {
    const busy = net.createServer()
    await new Promise<void>(resolve => { busy.listen(0, '127.0.0.1', resolve) })
    const port = (busy.address() as net.AddressInfo).port
    try {
      const res = await shoal(['daemon', '--repo', path.join(dir, 'busy'), '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--metrics', `127.0.0.1:${port}`])
      expect(res.code).toBe(2)
      expect(res.stderr).toBe(`shoal: error: cannot serve metrics on 127.0.0.1:${port}: address already in use [INVALID_ADDRESS]\n`)
    } finally {
      await new Promise(resolve => busy.close(resolve))
    }
    const res = await shoal(['daemon', '--repo', path.join(dir, 'busy'), '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--metrics', '192.0.2.1:9464'])
    expect(res.code).toBe(2)
    expect(res.stderr).toMatch(/^shoal: error: cannot serve metrics on 192\.0\.2\.1:9464: .+ \[INVALID_ADDRESS\]\n$/)
  })
})
