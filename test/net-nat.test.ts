/**
 * NAT traversal: two hosts, each behind its own NAT router (iptables
 * MASQUERADE; nothing gets in that the inside did not open), reach each other
 * only through a relay host. Public mode throughout, on public-looking
 * addresses inside isolated namespaces. Skipped, with the reason printed,
 * where namespaces or iptables are unavailable.
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ndjson, sha256File, startDaemon, writeRandomFile, shareFile } from './harness.js'
import type { Daemon } from './harness.js'
import { netTestFile } from './net-test.js'
import type { NetHost } from './netns.js'

const MiB = 1024 * 1024
const file = await netTestFile('net-nat', { nat: true })

/** Resolves with the daemon's addresses once one goes through a relay. */
async function relayAddress (d: Daemon): Promise<string> {
  const ready = d.addrs.find(a => a.includes('/p2p-circuit'))
  if (ready !== undefined) return ready
  const e = await d.waitForEvent(ev => ev.event === 'addrs' && (ev.addrs as string[]).some(a => a.includes('/p2p-circuit')))
  return (e.addrs as string[]).find(a => a.includes('/p2p-circuit')) as string
}

/** A public-mode daemon on `host` that joins through `relayAddr` (no UPnP: there is no router to ask). */
async function startOn (name: string, host: NetHost, relayAddr: string, env?: NodeJS.ProcessEnv): Promise<Daemon> {
  return await startDaemon(path.join(await file.dir(), name), ['--network', 'public', '--bootstrap', relayAddr, '--no-upnp'], { netns: host.ns, listen: `/ip4/${host.addr}/tcp/4001`, ...(env !== undefined ? { env } : {}) })
}

/** Share a new random file of `size` bytes from `from`; fetch its ticket on `to`; check the copy. */
async function shareAndFetch (from: Daemon, to: Daemon, name: string, size: number, seed: number): Promise<{ seconds: number }> {
  const src = path.join(await file.dir(), `${name}.bin`)
  await writeRandomFile(src, size, seed)
  const { ticket } = await shareFile(from, src)
  const out = path.join(await file.dir(), `${name}.copy`)
  const res = await to.cli(['fetch', ticket, '-o', out, '--json'])
  expect(res.code, res.stderr).toBe(0)
  expect(await sha256File(out)).toBe(await sha256File(src))
  return ndjson(res.stdout).find(e => e.type === 'done') as { seconds: number }
}

describe.skipIf(file.unavailable !== undefined)('NAT traversal (network namespaces)', () => {
  it('two hosts behind NAT fetch through a relay, within the relay\'s byte limit per connection', async () => {
    const dir = await file.dir()
    const net = await file.hosts([
      { name: 'relay' },
      { name: 'alice', behindNat: true },
      { name: 'bob', behindNat: true }
    ], { wan: '45.77.0' })
    const r = net.host('relay')
    const relay = await startDaemon(path.join(dir, 'relay'), ['--network', 'public', '--relay', '--relay-limit', '12MiB', '--no-upnp'], { netns: r.ns, listen: `/ip4/${r.addr}/tcp/4001` })
    // a public address is announced only once AutoNAT has verified it; the relay's is known here
    const relayAddr = `/ip4/${r.addr}/tcp/4001/p2p/${relay.peerId}`
    const a = net.host('alice')
    const b = net.host('bob')
    const alice = await startOn('alice', a, relayAddr)
    const bob = await startOn('bob', b, relayAddr, { DEBUG: 'shoal:xfer:session,shoal:download' })
    const aliceViaRelay = await relayAddress(alice)
    expect(aliceViaRelay).toContain(`/ip4/${r.addr}/tcp/4001/p2p/${relay.peerId}/p2p-circuit`)
    expect((await alice.cli(['status'])).stdout).toMatch(/network: +public \(Amino DHT\), reachable through a relay/)
    expect(JSON.parse((await relay.cli(['status', '--json'])).stdout)).toMatchObject({ network: 'public', relay: true })

    const size = 30 * MiB
    const done = await shareAndFetch(alice, bob, 'nat', size, 51)

    // every byte came through the relay, in connections that each stayed under its 12 MiB limit
    const { peers } = JSON.parse((await bob.cli(['peers', '--json'])).stdout) as { peers: Array<{ peerId: string, downloaded: number, addrs: string[] }> }
    const fromAlice = peers.find(p => p.peerId === alice.peerId)
    console.log(`[net-nat] 30 MiB alice -> bob through the relay in ${done.seconds.toFixed(2)} s (${(size / MiB / done.seconds).toFixed(1)} MiB/s); bob's connection to alice now: ${fromAlice?.addrs.join(' ') ?? 'closed'}`)
    // 30 MiB over circuits of 12 MiB: bob let at least two go when their limit was used up, and the relay never had to cut one
    const retired = bob.log().match(/relayed connection to \S+ has used its byte limit/g) ?? []
    console.log(`[net-nat] relayed connections used up and replaced: ${retired.length}`)
    expect(retired.length).toBeGreaterThanOrEqual(2)
    // a connection the relay cut (past its limit) would end bob's session with an error
    expect(bob.log()).not.toMatch(new RegExp(`session with ${alice.peerId} (ended|failed):`))

    // and bob cannot reach alice directly: her address is behind her router
    const direct = await bob.cli(['connect', `/ip4/${a.addr}/tcp/4001/p2p/${alice.peerId}`])
    expect(direct.code).not.toBe(0)
  }, 120_000)

  it('a host behind NAT, reached through the relay, is upgraded to a direct connection (DCUtR) that carries the transfer', async () => {
    const dir = await file.dir()
    const net = await file.hosts([
      { name: 'relay' },
      { name: 'alice', behindNat: true },
      { name: 'carol' }
    ], { wan: '45.77.0' })
    const r = net.host('relay')
    const relay = await startDaemon(path.join(dir, 'relay2'), ['--network', 'public', '--relay', '--no-upnp'], { netns: r.ns, listen: `/ip4/${r.addr}/tcp/4001` })
    const relayAddr = `/ip4/${r.addr}/tcp/4001/p2p/${relay.peerId}`
    const a = net.host('alice')
    const c = net.host('carol')
    const alice = await startOn('alice2', a, relayAddr)
    const carol = await startOn('carol2', c, relayAddr)
    await relayAddress(alice)

    // the ticket offers alice's LAN address (unreachable) and the relay
    const size = 24 * MiB
    await shareAndFetch(alice, carol, 'punch', size, 52)

    // alice dialed carol back directly (DCUtR's unilateral upgrade): carol
    // sees her coming from her router's public address, not via the relay
    const { peers } = JSON.parse((await carol.cli(['peers', '--json'])).stdout) as { peers: Array<{ peerId: string, downloaded: number, addrs: string[] }> }
    const fromAlice = peers.find(p => p.peerId === alice.peerId)
    console.log(`[net-nat] carol's connections to alice after the fetch: ${fromAlice?.addrs.join(' ') ?? 'none'}`)
    expect(fromAlice?.addrs.some(addr => addr.startsWith(`/ip4/${net.wan}.`) && !addr.includes('/p2p-circuit'))).toBe(true)
    expect(fromAlice?.downloaded).toBe(size)
  }, 120_000)
})
