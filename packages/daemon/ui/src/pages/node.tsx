/** Node: identity, addresses, network mode, DHT, caps, traffic, uptime. */
import type { StatusInfo } from '@shoal/protocol'
import { bytes, duration, rate } from '../format.js'
import { CopyButton, Field } from '../widgets.js'

function cap (n: number): string {
  return n === 0 ? 'none' : rate(n)
}

export function NodePage ({ status: s }: { status: StatusInfo | undefined }) {
  if (s === undefined) return <section><h2>Node</h2><p class="muted">loading…</p></section>
  return (
    <section class="node">
      <h2>Node</h2>
      <dl class="facts">
        <Field label="peer id"><code>{s.peerId}</code> <CopyButton text={s.peerId} label="peer id" /></Field>
        <Field label="version">{s.version}</Field>
        <Field label="uptime">{duration(s.uptimeSeconds)}</Field>
        <Field label="network">{s.network === 'lan' ? 'lan (private DHT, LAN and loopback addresses)' : 'public (Amino DHT)'}{s.relay ? ', relaying for others' : ''}</Field>
        <Field label="DHT table">{s.dhtPeers} peers</Field>
        <Field label="connections">{s.connections} to {s.peers} peers</Field>
        <Field label="shares">{s.shares}</Field>
        <Field label="downloads">{s.transfers.length} running</Field>
        <Field label="received">{bytes(s.downloaded)} · now {rate(s.downloadRate)}</Field>
        <Field label="sent">{bytes(s.uploaded)} · now {rate(s.uploadRate)}</Field>
        <Field label="caps">down {cap(s.limits.download)} (per peer {cap(s.limits.downloadPerPeer)}), up {cap(s.limits.upload)} (per peer {cap(s.limits.uploadPerPeer)})</Field>
        <Field label="repo"><code>{s.repo}</code></Field>
        {s.gateway !== undefined && <Field label="gateway"><code>{s.gateway}/shoal/&lt;id&gt;/&lt;path&gt;</code></Field>}
        {s.metrics !== undefined && <Field label="metrics"><code>{s.metrics}</code></Field>}
      </dl>
      <h3>Addresses</h3>
      {s.addrs.length === 0
        ? <p class="muted">none announced yet</p>
        : <ul class="addrs">{s.addrs.map(a => <li key={a}><code>{a}</code> <CopyButton text={a} label="address" /></li>)}</ul>}
    </section>
  )
}
