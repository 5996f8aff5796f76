/**
 * Baseline for the benchmarks: a bare libp2p stream over the same stack as the
 * daemon (TCP + Noise + Yamux), between two processes. The receiver reads with
 * an event listener (the cheapest reader, shared/STACK.md); the sender writes
 * 1 MiB buffers and honours backpressure. The receiver answers one byte when
 * it has every byte, so the sender's clock covers the whole transfer.
 *
 *   tsx bench/raw-peer.ts receive            → prints {"addr": ...}
 *   tsx bench/raw-peer.ts send ADDR BYTES    → prints {"bytes", "seconds", "cpuSeconds"}
 *
 * cpuSeconds: the sender's own CPU time (user + system) over the same span.
 */
import '../packages/daemon/dist/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createShoalLibp2p } from '../packages/daemon/dist/net/libp2p-node.js'

const PROTOCOL = '/shoal-bench/raw/1.0.0'
const [role, addr, bytesArg] = process.argv.slice(2)

const node = await createShoalLibp2p({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], datastore: new MemoryDatastore(), mdns: false })
await node.start()

if (role === 'receive') {
  await node.handle(PROTOCOL, (stream) => {
    let expected = -1
    let got = 0
    stream.addEventListener('message', (e) => {
      const data = e.data
      if (expected < 0) {
        // first 8 bytes: how many follow
        const head = data.subarray(0, 8)
        expected = Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0))
        got += data.byteLength - 8
      } else {
        got += data.byteLength
      }
      if (got >= expected) {
        stream.send(Uint8Array.of(1))
        void stream.close()
      }
    })
  }, { maxInboundStreams: 4 })
  console.log(JSON.stringify({ addr: node.getMultiaddrs()[0]?.toString() }))
  process.on('SIGTERM', () => { void Promise.resolve(node.stop()).then(() => process.exit(0)) })
} else if (role === 'send') {
  const total = Number(bytesArg)
  const stream = await node.dialProtocol(multiaddr(addr ?? ''), PROTOCOL)
  const block = new Uint8Array(1024 * 1024).fill(7)
  const started = process.hrtime.bigint()
  const cpuStart = process.cpuUsage()
  const done = new Promise<void>(resolve => { stream.addEventListener('message', () => { resolve() }, { once: true }) })
  const head = new Uint8Array(8)
  new DataView(head.buffer).setBigUint64(0, BigInt(total))
  stream.send(head)
  for (let sent = 0; sent < total;) {
    const n = Math.min(block.byteLength, total - sent)
    if (!stream.send(n === block.byteLength ? block : block.subarray(0, n))) await stream.onDrain()
    sent += n
  }
  await done
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpuStart)
  console.log(JSON.stringify({ bytes: total, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }))
  await node.stop()
  process.exit(0)
} else {
  console.error('usage: raw-peer.ts receive | send ADDR BYTES')
  process.exit(2)
}
