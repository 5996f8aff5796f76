/** Peers: who this node is connected to, how, and what flows each way. */
import type { PeerInfo } from '@shoal/protocol'
import { bytes, rate, short } from '../format.js'

export function PeersPage ({ peers }: { peers: PeerInfo[] | undefined }) {
  if (peers === undefined) return <section><h2>Peers</h2><p class="muted">loading…</p></section>
  const sorted = [...peers].sort((a, b) => (b.downloadRate + b.uploadRate) - (a.downloadRate + a.uploadRate) || a.peerId.localeCompare(b.peerId))
  return (
    <section>
      <h2>Peers <span class="muted">{peers.length} connected</span></h2>
      {peers.length === 0
        ? <p class="muted">No peer connected.</p>
        : (
          <table class="peers">
            <thead><tr><th>peer</th><th>address</th><th>direction</th><th>path</th><th class="num">received</th><th class="num">rate in</th><th class="num">sent</th><th class="num">rate out</th></tr></thead>
            <tbody>
              {sorted.map(p => (
                <tr key={p.peerId} data-peer={p.peerId}>
                  <td><code title={p.peerId}>{short(p.peerId, 8)}</code></td>
                  <td class="addr">{p.addrs.map(a => <div key={a} title={a}>{a.replace(/\/p2p\/[^/]+$/, '')}</div>)}</td>
                  <td>{p.direction}{p.connections > 1 ? ` (${p.connections})` : ''}</td>
                  <td><span class={`badge ${p.relayed ? 'relayed' : 'direct'}`}>{p.relayed ? 'relayed' : 'direct'}</span></td>
                  <td class="num">{bytes(p.downloaded)}</td>
                  <td class="num">{rate(p.downloadRate)}</td>
                  <td class="num">{bytes(p.uploaded)}</td>
                  <td class="num">{rate(p.uploadRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          )}
    </section>
  )
}
