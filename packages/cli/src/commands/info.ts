import type { Argv, CommandModule } from 'yargs'
import { ControlRoute, parseContentId } from '@shoal/protocol'
import type { ConnectResult, ListResult, PeerInfo, StatusInfo, StopResult, UnshareResult } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import { formatBytes, formatDuration, formatRate } from '../format.js'

export const statusCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: 'Show the daemon: peer id, addresses, connections, shares, transfers',
  builder: (y: Argv<GlobalArgs>) => y
    .example('$0 status', 'peer id, addresses, peers, shares, traffic, transfers')
    .example('$0 status --json', 'machine-readable'),
  handler: async (args) => {
    const output = outputOf(args)
    const s = await clientOf(args).call<StatusInfo>('GET', ControlRoute.status)
    if (output.json) { output.data(s); return }
    output.out(`peer id:     ${s.peerId}`)
    output.out(`repo:        ${s.repo}`)
    output.out(`addresses:   ${s.addrs.length === 0 ? '(none)' : s.addrs[0] ?? ''}`)
    for (const a of s.addrs.slice(1)) output.out(`             ${a}`)
    output.out(`network:     ${s.network === 'public' ? 'public (Amino DHT)' : 'lan (private DHT)'}${s.relay ? ', relaying for others' : ''}${s.addrs.some(a => a.includes('/p2p-circuit')) ? ', reachable through a relay' : ''}`)
    output.out(`peers:       ${s.peers} (${s.connections} connection${s.connections === 1 ? '' : 's'}), ${s.dhtPeers} in the DHT table`)
    output.out(`shares:      ${s.shares}`)
    output.out(`traffic:     up ${formatBytes(s.uploaded)}, down ${formatBytes(s.downloaded)}`)
    output.out(`rates:       up ${formatRate(s.uploadRate)}${capText(s.limits.upload, s.limits.uploadPerPeer)}, down ${formatRate(s.downloadRate)}${capText(s.limits.download, s.limits.downloadPerPeer)}`)
    output.out(`uptime:      ${formatDuration(s.uptimeSeconds)}`)
    if (s.metrics !== undefined) output.out(`metrics:     ${s.metrics}`)
    if (s.gateway !== undefined) output.out(`gateway:     ${s.gateway}/shoal/<id>/<path>`)
    if (s.transfers.length === 0) output.out('transfers:   none')
    for (const t of s.transfers) {
      output.out(`transfer:    ${t.cid} ${formatBytes(t.received)}/${formatBytes(t.size)} ${formatRate(t.rate)} ${t.peers} peers -> ${t.path}`)
    }
  }
}

export const peersCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'peers',
  describe: 'List connected peers',
  builder: (y: Argv<GlobalArgs>) => y
    .example('$0 peers', 'peer id, direction, traffic and address of each')
    .example('$0 peers --json', '{"peers": [...]}'),
  handler: async (args) => {
    const output = outputOf(args)
    const { peers } = await clientOf(args).call<{ peers: PeerInfo[] }>('GET', ControlRoute.peers)
    if (output.json) { output.data({ peers }); return }
    if (peers.length === 0) { output.out('no connected peers'); return }
    for (const p of peers) {
      output.out(`${p.peerId}  ${p.direction.padEnd(8)}  up ${formatBytes(p.uploaded)} (${formatRate(p.uploadRate)})  down ${formatBytes(p.downloaded)} (${formatRate(p.downloadRate)})  ${p.addrs.join(' ')}`)
    }
  }
}

interface ConnectArgs extends GlobalArgs { addr: string }

export const connectCommand: CommandModule<GlobalArgs, ConnectArgs> = {
  command: 'connect <addr>',
  describe: 'Dial a peer by multiaddr',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('addr', { type: 'string', demandOption: true, describe: 'e.g. /ip4/192.0.2.7/tcp/4001/p2p/12D3Koo...' })
    .example('$0 connect /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...', 'connect to a local node') as Argv<ConnectArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const result = await clientOf(args).call<ConnectResult>('POST', ControlRoute.connect, { addr: args.addr })
    if (output.json) output.data(result)
    else output.out(`connected to ${result.peerId}`)
  }
}

export const lsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'ls',
  describe: 'List shares and downloads',
  builder: (y: Argv<GlobalArgs>) => y
    .example('$0 ls', 'content id, origin, size and path of each')
    .example('$0 ls --json', '{"shares": [...], "downloads": [...]}'),
  handler: async (args) => {
    const output = outputOf(args)
    const result = await clientOf(args).call<ListResult>('GET', ControlRoute.ls)
    if (output.json) { output.data(result); return }
    if (result.shares.length === 0 && result.downloads.length === 0) { output.out('nothing shared or downloading'); return }
    for (const s of result.shares) {
      const flag = s.stale ? ' [STALE: changed on disk, not served]' : s.partial ? ` (partial: ${formatBytes(s.held)} held)` : ''
      output.out(`${s.cid}  ${s.origin.padEnd(7)}  ${formatBytes(s.size).padStart(10)}  ${s.path}${flag}`)
    }
    for (const d of result.downloads) {
      const why = d.error !== undefined ? ` (${d.error.message})` : ''
      output.out(`${d.cid}  ${d.state.padEnd(7)}  ${d.size > 0 ? `${formatBytes(d.received)}/${formatBytes(d.size)}` : ''}  ${d.path}${why}`)
    }
  }
}

interface UnshareArgs extends GlobalArgs { id: string }

export const unshareCommand: CommandModule<GlobalArgs, UnshareArgs> = {
  command: 'unshare <id>',
  describe: 'Stop sharing a content id (the files stay where they are)',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id' })
    .example('$0 unshare bafy...', 'stop serving it; `shoal ls` shows the ids') as Argv<UnshareArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const cid = parseContentId(args.id).toString()
    const result = await clientOf(args).call<UnshareResult>('DELETE', `${ControlRoute.shares}/${encodeURIComponent(cid)}`)
    if (output.json) output.data(result)
    else output.out(`no longer sharing ${result.cid}`)
  }
}

export const stopCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'stop',
  describe: 'Stop the daemon gracefully (progress of downloads is kept)',
  builder: (y: Argv<GlobalArgs>) => y
    .example('$0 stop --repo /tmp/a', 'stop the daemon of repo /tmp/a'),
  handler: async (args) => {
    const output = outputOf(args)
    const result = await clientOf(args).call<StopResult>('POST', ControlRoute.stop)
    if (output.json) output.data(result)
    else output.out('daemon stopping')
  }
}

/** ` (cap 2 MiB/s, 1 MiB/s per peer)`, or nothing when uncapped. */
function capText (total: number, perPeer: number): string {
  const parts: string[] = []
  if (total > 0) parts.push(`cap ${formatRate(total)}`)
  if (perPeer > 0) parts.push(`${formatRate(perPeer)} per peer`)
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`
}
