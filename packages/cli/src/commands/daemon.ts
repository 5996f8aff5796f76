import type { Argv, CommandModule } from 'yargs'
import type { GlobalArgs } from '../context.js'
import { outputOf, repoDirOf } from '../context.js'

interface DaemonArgs extends GlobalArgs {
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  network?: 'lan' | 'public'
}

export const daemonCommand: CommandModule<GlobalArgs, DaemonArgs> = {
  command: 'daemon',
  describe: 'Run the Shoal node in the foreground (until Ctrl-C / SIGTERM / `shoal stop`)',
  builder: (y: Argv<GlobalArgs>) => y
    .option('listen', { type: 'string', array: true, describe: 'Multiaddr to listen on (repeatable; default /ip4/0.0.0.0/tcp/0, or "listen" in <repo>/config.json)' })
    .option('bootstrap', { type: 'string', array: true, describe: 'Multiaddr of a peer to join the swarm through (repeatable; or "bootstrap" in config.json)' })
    .option('mdns', { type: 'boolean', describe: 'Find peers on the LAN with mDNS (default on; --no-mdns to turn off)' })
    .option('network', { choices: ['lan', 'public'] as const, describe: 'lan (default): private swarm, keeps private addresses in the DHT; public: internet-style address filtering' })
    .example('$0 daemon --repo /tmp/b --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...', 'join a swarm through a known peer')
    .example('$0 daemon', 'start with the repo in ~/.shoal')
    .example('$0 daemon --repo /tmp/a --listen /ip4/127.0.0.1/tcp/4001', 'a second node on a fixed port') as Argv<DaemonArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    // imported here so that other commands never load libp2p
    const { createShoal } = await import('@shoal/daemon')
    let stopRequested: () => void = () => {}
    const stopped = new Promise<void>(resolve => { stopRequested = resolve })
    let peerEvents: Array<{ type: string, peerId: string }> | undefined = []
    const shoal = await createShoal({
      repo: repoDirOf(args),
      ...(args.listen !== undefined ? { listen: args.listen } : {}),
      ...(args.bootstrap !== undefined ? { bootstrap: args.bootstrap } : {}),
      ...(args.mdns !== undefined ? { mdns: args.mdns } : {}),
      ...(args.network !== undefined ? { network: args.network } : {}),
      controlSocket: true,
      // --json: one line per peer event, for scripts that wait on the swarm
      ...(output.json ? { onPeerEvent: (e: { type: string, peerId: string }) => { if (peerEvents === undefined) output.data({ event: e.type, peerId: e.peerId }); else peerEvents.push(e) } } : {}),
      onStopRequested: () => { stopRequested() }
    })
    await shoal.start()
    const onSignal = (): void => { stopRequested() }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)

    const status = await shoal.status()
    if (output.json) {
      output.data({ event: 'ready', peerId: status.peerId, addrs: status.addrs, repo: status.repo })
      // peer events that happened while starting (bootstrap) come after 'ready'
      for (const e of peerEvents ?? []) output.data({ event: e.type, peerId: e.peerId })
      peerEvents = undefined
    } else {
      output.out(`shoal daemon ready`)
      output.out(`  peer id: ${status.peerId}`)
      output.out(`  repo:    ${status.repo}`)
      for (const a of status.addrs) output.out(`  listening on ${a}`)
      output.out(`  other nodes connect with: shoal connect ${status.addrs[0] ?? '<addr>'}`)
    }
    if (status.peers > 0 && !output.json) output.out(`  connected to ${status.peers} peer(s)`)
    await stopped
    output.info('stopping...')
    await shoal.stop()
    if (output.json) output.data({ event: 'stopped' })
    else output.out('shoal daemon stopped')
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
