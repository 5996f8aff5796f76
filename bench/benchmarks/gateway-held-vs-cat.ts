/** 12. Serving a held file through the gateway against reading it with cat. */
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { writeRandomFile } from '../../examples/support/files.js'
import { evict, gatewayOf, sh, timedShell } from '../lib/access.js'
import { share, startDaemon, stopDaemons } from '../lib/daemons.js'
import { best, fmtRate, fmtSec, fmtSize, progress } from '../lib/format.js'
import { RUNS } from '../lib/plan.js'
import type { Benchmark, Plan } from '../lib/plan.js'
import { judge } from '../lib/results.js'
import type { Results } from '../lib/results.js'
import { benchDir, checkInterrupted } from '../lib/workspace.js'

const CURL = ['/usr/bin/curl', '/bin/curl'].find(p => existsSync(p))

async function run (plan: Plan, results: Results): Promise<void> {
  if (CURL === undefined) {
    results.row({ bench: '12', what: 'gateway serving a held file vs cat', figure: 'skipped: no curl', baseline: '-', ratio: '-', target: '<= 1.5 (time)', result: 'skipped', runs: '-' })
    return
  }
  const size = plan.fetchSize
  const dir = await benchDir('b12')
  const src = path.join(dir, 'held.bin')
  progress(`  writing ${fmtSize(size)}...`)
  await writeRandomFile(src, size)
  const node = await startDaemon('b12-node', [], { args: ['--gateway', '127.0.0.1:0'] })
  const { result } = await share(node, src)
  const url = `${await gatewayOf(node)}/shoal/${result.cid}`
  // on these VMs a read after the guest's page cache is dropped may come from the host's
  // cache, or from the disk for the first one: read it once first, so every timed read is alike
  await evict(src)
  await timedShell(`cat ${sh(src)} > /dev/null`)
  const cold: Array<{ cat: number, curl: number }> = []
  const warm: Array<{ cat: number, curl: number }> = []
  for (let i = 0; i < RUNS; i++) {
    checkInterrupted()
    const m = { cat: 0, curl: 0 }
    await evict(src)
    m.cat = (await timedShell(`cat ${sh(src)} > /dev/null`)).seconds
    await evict(src)
    m.curl = (await curlSeconds(url, size))
    cold.push(m)
    const w = { cat: (await timedShell(`cat ${sh(src)} > /dev/null`)).seconds, curl: await curlSeconds(url, size) }
    warm.push(w)
    progress(`  run ${i + 1}: from disk: cat ${fmtSec(m.cat)}, curl via gateway ${fmtSec(m.curl)}; page cache warm: cat ${fmtSec(w.cat)}, curl ${fmtSec(w.curl)}`)
  }
  const cc = best(cold.map(x => x.curl))
  const cb = best(cold.map(x => x.cat))
  results.row({ bench: '12', what: `gateway: a held ${fmtSize(size)} file, curl to /dev/null, from disk (wall)`, figure: `${fmtSec(cc)} (${fmtRate(size, cc)})`, baseline: `cat of the file to /dev/null, from disk ${fmtSec(cb)} (${fmtRate(size, cb)})`, ratio: (cc / cb).toFixed(2), target: '<= 1.5 (time)', result: judge(cc / cb, '<=', 1.5), runs: 'better' })
  const wc = best(warm.map(x => x.curl))
  const wb = best(warm.map(x => x.cat))
  results.info({ bench: '12', what: 'same, page cache warm (every chunk still hashed before it is sent)', figure: `${fmtSec(wc)} (${fmtRate(size, wc)})`, baseline: `cat ${fmtSec(wb)} (${fmtRate(size, wb)})`, ratio: (wc / wb).toFixed(2) })
  results.detail(`12. ${fmtSize(size)}: from disk cat/curl s = ${cold.map(x => `${fmtSec(x.cat)}/${fmtSec(x.curl)}`).join(', ')}; warm cat/curl s = ${warm.map(x => `${fmtSec(x.cat)}/${fmtSec(x.curl)}`).join(', ')}`)
  await stopDaemons()
  await fs.rm(dir, { recursive: true, force: true })
}

async function curlSeconds (url: string, size: number): Promise<number> {
  const r = await timedShell(`${CURL ?? 'curl'} -sS -o /dev/null -w '%{http_code} %{size_download}' ${sh(url)}`)
  if (r.stdout.trim() !== `200 ${size}`) throw new Error(`curl ${url}: ${r.stdout}`)
  return r.seconds
}

export const gatewayHeldVsCat: Benchmark = {
  n: 12,
  name: 'gateway serving held content vs cat',
  run,
  method: () => `A daemon with \`--gateway 127.0.0.1:0\` shares a random file (served in place).
   From disk: the file is dropped from the page cache (\`sync\`, then \`dd iflag=nocache
   count=0\`) before each read (it is read once, untimed, before the runs: on
   these VMs a read after the guest's cache is dropped comes from the host's
   cache, except the very first); \`cat FILE > /dev/null\` vs \`curl -o /dev/null <gateway URL>\`
   (wall, spawn to exit; curl's status and byte count checked). Warm: the same
   right after, from the page cache. The gateway hashes every chunk before it
   sends it, as every Shoal read does.`
}
