/**
 * aria2 as the yardstick for swarms: a local opentracker, a torrent made with
 * mktorrent (1 MiB pieces), one seeding aria2c and leechers, all on
 * 127.0.0.1. aria2c and mktorrent come from the system (Debian's aria2 and
 * mktorrent); opentracker is unpacked from Debian's package into
 * bench/.work (apt-get download + dpkg -x, never installed system-wide) when
 * the bench is run with --install-tracker, or found there afterwards.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { ROOT, isRunning } from '../../examples/support/cli-process.js'
import { EventProcess } from '../../examples/support/daemon-process.js'
import { uniqueName } from './daemons.js'
import { cpuSeconds } from './sampling.js'

const TRACKER_DIR = path.join(ROOT, 'bench', '.work', 'opentracker')
const TRACKER_BIN = path.join(TRACKER_DIR, 'usr', 'bin', 'opentracker')

/** Why aria2 cannot be measured here, or undefined when it can. */
export function aria2Missing (): string | undefined {
  for (const tool of ['aria2c', 'mktorrent']) {
    try { execFileSync('which', [tool], { stdio: 'ignore' }) } catch { return `${tool} is not installed (Debian: apt-get install aria2 mktorrent)` }
  }
  if (!existsSync(TRACKER_BIN)) return `no opentracker in ${path.relative(ROOT, TRACKER_DIR)} (run the bench with --install-tracker to unpack Debian's package there)`
  return undefined
}

/** Unpack Debian's opentracker and its libowfat0 into bench/.work/opentracker (apt-get download + dpkg -x). */
export async function installTracker (): Promise<void> {
  if (existsSync(TRACKER_BIN)) return
  await fs.mkdir(TRACKER_DIR, { recursive: true })
  execFileSync('apt-get', ['download', 'opentracker', 'libowfat0'], { cwd: TRACKER_DIR, stdio: 'ignore' })
  const debs = (await fs.readdir(TRACKER_DIR)).filter(f => f.endsWith('.deb'))
  if (debs.length < 2) throw new Error('apt-get download opentracker libowfat0 gave no packages')
  for (const deb of debs) execFileSync('dpkg', ['-x', deb, '.'], { cwd: TRACKER_DIR })
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => { resolve(port) })
    })
    server.on('error', reject)
  })
}

function spawn (name: string, command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): EventProcess {
  const { id, logFile } = uniqueName(name)
  return new EventProcess(command, args, { name: id, logFile, cwd, ...(env !== undefined ? { env } : {}) })
}

/** One aria2c JSON-RPC call on 127.0.0.1:`port`. */
async function rpc<T> (port: number, method: string, params: unknown[] = []): Promise<T> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: '1', method, params })
  return await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/jsonrpc', method: 'POST', headers: { 'content-type': 'application/json' } }, res => {
      let text = ''
      res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => {
        try { resolve((JSON.parse(text) as { result: T }).result) } catch (err) { reject(err) }
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

export interface Aria2Swarm {
  /** Seconds from starting the leechers until the last had every byte. */
  seconds: number
  /** What the seeder uploaded, in bytes. */
  seederUploaded: number
  /** CPU seconds of every aria2c process over the swarm phase. */
  cpuSeconds: number
}

/**
 * One seeding aria2c with `src` and `leechers` aria2c downloading it at once
 * through a local tracker (PEX on, DHT and local peer discovery off);
 * leechers keep seeding until all are done. Files land in `dir`/leech<k>.
 */
export async function aria2Swarm (dir: string, src: string, leechers: number): Promise<Aria2Swarm> {
  const trackerPort = await freePort()
  const torrent = path.join(dir, 'swarm.torrent')
  await fs.rm(torrent, { force: true })
  execFileSync('mktorrent', ['-a', `http://127.0.0.1:${trackerPort}/announce`, '-l', '20', '-o', torrent, src], { stdio: 'ignore' })
  // Debian's opentracker serves only the torrents on its whitelist
  const infoHash = /Info Hash:\s*([0-9a-f]{40})/i.exec(execFileSync('aria2c', ['-S', torrent], { encoding: 'utf8' }))?.[1]
  if (infoHash === undefined) throw new Error('aria2c -S gave no info hash')
  await fs.writeFile(path.join(dir, 'whitelist.txt'), infoHash + '\n')
  // (its libowfat is unpacked beside it; it chroots into `dir`, where its whitelist is, and drops to nobody)
  const tracker = spawn('opentracker', TRACKER_BIN, ['-i', '127.0.0.1', '-p', String(trackerPort), '-P', String(trackerPort), '-d', dir, '-w', 'whitelist.txt'],
    dir, { LD_LIBRARY_PATH: path.join(TRACKER_DIR, 'usr', 'lib') })
  const procs: EventProcess[] = []
  try {
    await waitForPort(trackerPort)
    const common = ['--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=true', '--seed-ratio=0.0',
      '--bt-max-peers=0', '--file-allocation=none', '--console-log-level=warn', '--summary-interval=0', '--check-certificate=false', '--max-overall-upload-limit=0']
    const rpcPort = await freePort()
    const seeder = spawn('aria2-seeder', 'aria2c', [...common, '--bt-seed-unverified=true', '-d', path.dirname(src), '--listen-port', String(await freePort()),
      '--enable-rpc', '--rpc-listen-port', String(rpcPort), '--rpc-listen-all=false', torrent], dir)
    procs.push(seeder)
    await waitForPort(rpcPort)
    const size = (await fs.stat(src)).size
    const deadlineMs = 120_000 + size / 5e6 * 1000
    const outs = Array.from({ length: leechers }, (_, k) => path.join(dir, `leech${k}`))
    for (const out of outs) await fs.rm(out, { recursive: true, force: true })
    const cpu0 = await Promise.all(procs.map(async p => await cpuSeconds(p.pid)))
    const started = performance.now()
    const leechRpc: number[] = []
    for (const [k, out] of outs.entries()) {
      const port = await freePort()
      leechRpc.push(port)
      procs.push(spawn(`aria2-leech${k}`, 'aria2c', [...common, '-d', out, '--listen-port', String(await freePort()),
        '--enable-rpc', '--rpc-listen-port', String(port), '--rpc-listen-all=false', torrent], dir))
    }
    for (const port of leechRpc) await waitForPort(port)
    // done: every leecher has verified every piece (aria2 keeps its control
    // file while it goes on seeding, so the file system cannot tell)
    while (true) {
      const done = await Promise.all(leechRpc.map(async port => {
        const active = await rpc<Array<{ completedLength: string, totalLength: string }>>(port, 'aria2.tellActive', [['completedLength', 'totalLength']]).catch(() => [])
        const d = active[0]
        return d !== undefined && Number(d.totalLength) === size && Number(d.completedLength) === size
      }))
      if (done.every(Boolean)) break
      if (procs.some(p => !isRunning(p.proc))) throw new Error('an aria2c process ended before the swarm was done')
      if (performance.now() - started > deadlineMs) throw new Error(`the aria2 swarm was not done after ${deadlineMs / 1000} s`)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
    const seconds = (performance.now() - started) / 1000
    const cpu1 = await Promise.all(procs.map(async p => await cpuSeconds(p.pid)))
    const cpuTotal = cpu1.reduce((n, c, i) => n + c - (cpu0[i] ?? 0), 0)
    const active = await rpc<Array<{ uploadLength: string }>>(rpcPort, 'aria2.tellActive', [['uploadLength']])
    return { seconds, seederUploaded: Number(active[0]?.uploadLength ?? 0), cpuSeconds: cpuTotal }
  } finally {
    for (const p of [...procs, tracker]) if (isRunning(p.proc)) p.proc.kill('SIGKILL')
    await Promise.all([...procs, tracker].map(async p => await p.exited))
  }
}

async function waitForPort (port: number): Promise<void> {
  const until = performance.now() + 10_000
  while (performance.now() < until) {
    const ok = await new Promise<boolean>(resolve => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => { resolve(false) })
    })
    if (ok) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 10 s`)
}
