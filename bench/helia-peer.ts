/**
 * A stock Helia node in its own process, for the IPFS benchmarks (9, 10):
 * helia 7 with @helia/unixfs defaults and Helia's own bitswap, in-memory
 * stores, TCP on loopback (examples/support/helia-node.ts).
 *
 *   tsx bench/helia-peer.ts provide FILE      adds FILE, prints {"event":"ready","cid","addrs","addSeconds"}, serves until SIGTERM
 *   tsx bench/helia-peer.ts fetch CID ADDR... dials every ADDR, cats CID, prints {"event":"done","bytes","seconds","sha256","cpuSeconds"}
 */
import '../packages/daemon/dist/polyfill.js'
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { startHelia } from '../examples/support/helia-node.js'

const [role, ...args] = process.argv.slice(2)
const node = await startHelia()
process.on('SIGTERM', () => { void node.stop().finally(() => process.exit(0)) })

if (role === 'provide') {
  const started = Date.now()
  const cid = await node.fs.addByteStream(createReadStream(args[0] ?? '', { highWaterMark: 1024 * 1024 }))
  console.log(JSON.stringify({ event: 'ready', cid: cid.toString(), addrs: node.addrs, addSeconds: (Date.now() - started) / 1000 }))
} else if (role === 'fetch') {
  const [cid, ...addrs] = args
  await Promise.all(addrs.map(async a => await node.helia.libp2p.dial(multiaddr(a))))
  const hash = createHash('sha256')
  let bytes = 0
  const cpu0 = process.cpuUsage()
  const started = process.hrtime.bigint()
  for await (const chunk of node.fs.cat(CID.parse(cid ?? ''))) { hash.update(chunk); bytes += chunk.byteLength }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ event: 'done', bytes, seconds, sha256: hash.digest('hex'), cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
  await node.stop()
  process.exit(0)
} else {
  console.error('usage: helia-peer.ts provide FILE | fetch CID ADDR...')
  process.exit(2)
}
