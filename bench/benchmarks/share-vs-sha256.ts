/**
 * 2. `shoal share` of a fresh file against SHA-256 of the same file in this
 * process, and the same share straight on the control socket (no CLI start-up).
 */
import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { ShareResult } from '@shoal/protocol'
import { sha256File, writeRandomFile } from '../../examples/support/files.js'
import { cliJsonTimed, share, startDaemon, stopDaemons } from '../lib/daemons.js'
import type { DaemonProcess } from '../lib/daemons.js'
import { best, fmtRate, fmtSec, fmtSize, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

/** POST /v1/shares on the daemon's control socket directly (no CLI start-up); with its wall time. */
async function shareViaApi (d: DaemonProcess, file: string): Promise<{ result: ShareResult, seconds: number }> {
  const started = performance.now()
  const body = JSON.stringify({ path: file })
  const reply = await new Promise<{ status: number, text: string }>((resolve, reject) => {
    const req = http.request({
      socketPath: path.join(d.repo, 'shoal.sock'),
      path: '/v1/shares',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, res => {
      let text = ''
      res.setEncoding('utf8').on('data', (c: string) => { text += c }).on('end', () => { resolve({ status: res.statusCode ?? 0, text }) }).on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
  const seconds = (performance.now() - started) / 1000
  if (reply.status !== 200) throw new Error(`POST /v1/shares: HTTP ${reply.status}: ${reply.text}`)
  return { result: JSON.parse(reply.text) as ShareResult, seconds }
}

/** SHA-256 of a file in 1 MiB reads, timed. */
async function timedSha256 (file: string): Promise<{ hex: string, seconds: number }> {
  const started = performance.now()
  const hex = await sha256File(file)
  return { hex, seconds: (performance.now() - started) / 1000 }
}

async function run (plan: Plan, results: Results): Promise<void> {
  const size = plan.fetchSize
  const dir = await benchDir('b2')
  const daemon = await startDaemon('b2-sharer')
  const shaTimes: number[] = []
  const shareTimes: number[] = []
  const apiTimes: number[] = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const file = path.join(dir, `fresh${i}.bin`)
    progress(`  run ${i + 1}: writing a fresh ${fmtSize(size)} file...`)
    const expected = await writeRandomFile(file, size)
    await sha256File(file) // page cache warm for both
    const sha = await timedSha256(file)
    if (sha.hex !== expected) throw new Error(`${file}: SHA-256 changed between reads`)
    shaTimes.push(sha.seconds)
    const { result, seconds } = await share(daemon, file)
    if (result.size !== size) throw new Error(`share reported ${result.size} bytes, expected ${size}`)
    shareTimes.push(seconds)
    // the same file again straight on the control socket: the daemon's own share time (it keeps no hash cache)
    await cliJsonTimed(['unshare', result.cid, '--repo', daemon.repo])
    const api = await shareViaApi(daemon, file)
    if (api.result.cid !== result.cid) throw new Error(`share via the API gave ${api.result.cid}, the CLI ${result.cid}`)
    apiTimes.push(api.seconds)
    progress(`  run ${i + 1}: SHA-256 ${fmtSec(sha.seconds)} (${fmtRate(size, sha.seconds)}), shoal share ${fmtSec(seconds)} (${fmtRate(size, seconds)}), control API share ${fmtSec(api.seconds)}`)
    await cliJsonTimed(['unshare', result.cid, '--repo', daemon.repo]).catch(() => {})
    await fs.rm(file, { force: true })
  }
  const shaBest = best(shaTimes)
  const shareBest = best(shareTimes)
  const ratio = shareBest / shaBest
  results.row({
    bench: '2',
    what: `shoal share of a fresh ${fmtSize(size)} file (CLI wall, page cache warm)`,
    figure: `${fmtSec(shareBest)} (${fmtRate(size, shareBest)})`,
    baseline: `SHA-256 in process, 1 MiB reads: ${fmtSec(shaBest)} (${fmtRate(size, shaBest)})`,
    ratio: ratio.toFixed(2),
    target: '<= 1.3 (time)',
    result: judge(ratio, '<=', 1.3),
    runs: 'better'
  })
  const apiBest = best(apiTimes)
  results.info({
    bench: '2',
    what: 'same file re-shared via POST /v1/shares on the socket (no CLI start-up)',
    figure: `${fmtSec(apiBest)} (${fmtRate(size, apiBest)})`,
    baseline: `SHA-256 in process ${fmtSec(shaBest)}`,
    ratio: (apiBest / shaBest).toFixed(2)
  })
  results.detail(`2. ${fmtSize(size)}: SHA-256 s = ${shaTimes.map(fmtSec).join(', ')}; shoal share s = ${shareTimes.map(fmtSec).join(', ')}; control API share s = ${apiTimes.map(fmtSec).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

export const shareVsSha256: Benchmark = {
  n: 2,
  name: 'share vs SHA-256',
  run,
  method: () => `\`shoal share\` (CLI wall, including CLI start-up of ~0.2 s) of a freshly
   written file vs SHA-256 of the same file in the bench process (createHash,
   1 MiB reads); the file is hashed once first so both read from a warm page cache.`
}
