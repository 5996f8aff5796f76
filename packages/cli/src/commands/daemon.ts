import type { Argv, CommandModule } from 'yargs'
import { ErrorCode, ShoalError, isHostPort, isRate, parseRate } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { outputOf, repoDirOf } from '../context.js'
import { ExitCode } from '../exit-codes.js'
import { tuneGarbageCollector } from '../gc-tuning.js'

interface DaemonArgs extends GlobalArgs {
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  network?: 'lan' | 'public'
  metrics?: string
  gateway?: string
  maxUpload?: string
  maxDownload?: string
  maxUploadPerPeer?: string
  maxDownloadPerPeer?: string
  relay?: boolean
  relayLimit?: string
  maxCache?: string
  upnp?: boolean
}

export const daemonCommand: CommandModule<GlobalArgs, DaemonArgs> = {
  command: 'daemon',
  describe: 'Run the Shoal node in the foreground (until Ctrl-C / SIGTERM / `shoal stop`)',
  builder: (y: Argv<GlobalArgs>) => y
    .option('listen', { type: 'string', array: true, describe: 'Multiaddr to listen on (repeatable; default /ip4/0.0.0.0/tcp/0, or "listen" in <repo>/config.json)' })
    .option('bootstrap', { type: 'string', array: true, describe: 'Multiaddr of a peer to join the swarm through (repeatable; or "bootstrap" in config.json)' })
    .option('mdns', { type: 'boolean', describe: 'Find peers on the LAN with mDNS (default on; --no-mdns to turn off)' })
    .option('network', { choices: ['lan', 'public'] as const, describe: 'lan (default): private swarm, keeps private addresses in the DHT; public: internet-style address filtering' })
    .option('metrics', { type: 'string', describe: 'Serve Prometheus metrics on http://HOST:PORT/metrics (port 0: any free port; or "metrics" in config.json; default off)' })
    .option('gateway', { type: 'string', describe: 'Serve the HTTP gateway (GET /shoal/<id>/<path>, ranges, on-demand fetching) and the web UI (`shoal ui`) on HOST:PORT, or PORT for 127.0.0.1:PORT (or "gateway" in config.json; default off). Keep it on loopback' })
    .option('max-upload', { type: 'string', describe: 'Cap on chunk uploads, all peers together, e.g. 2MiB/s, 500KB/s (0 = none; or "maxUpload" in config.json)' })
    .option('max-download', { type: 'string', describe: 'Cap on chunk downloads, all peers together (or "maxDownload")' })
    .option('max-upload-per-peer', { type: 'string', describe: 'Cap on chunk uploads to any one peer (or "maxUploadPerPeer")' })
    .option('max-download-per-peer', { type: 'string', describe: 'Cap on chunk downloads from any one peer (or "maxDownloadPerPeer")' })
    .option('max-cache', { type: 'string', describe: 'Bytes of what cat and the gateway fetched (no fetch asked for it, kept in <repo>/partial) to keep; past it the least recently read go, e.g. 20GiB (0 = no limit; default 10GiB; or "maxCache")' })
    .option('relay', { type: 'boolean', describe: 'Act as a circuit relay v2 for peers behind NAT (or "relay" in config.json; default off)' })
    .option('relay-limit', { type: 'string', describe: 'With --relay: bytes each relayed connection may carry, e.g. 64MiB (default 64MiB)' })
    .option('upnp', { type: 'boolean', describe: 'Ask the router for a port mapping with UPnP (default: on with --network public, off on lan)' })
    .example('$0 daemon --max-upload 2MiB/s --max-download-per-peer 1MB/s', 'share without filling a home uplink')
    .example('$0 daemon --network public --relay', 'an internet node that relays for peers behind NAT')
    .example('$0 daemon --repo /tmp/b --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...', 'join a swarm through a known peer')
    .example('$0 daemon --gateway 8080', 'also serve http://127.0.0.1:8080/shoal/<id>/<path> to browsers and media players, and the web UI')
    .example('$0 daemon', 'start with the repo in ~/.shoal')
    .example('$0 daemon --repo /tmp/a --listen /ip4/127.0.0.1/tcp/4001', 'a second node on a fixed port') as Argv<DaemonArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    if (args.relayLimit !== undefined && (!isRate(args.relayLimit) || parseRate(args.relayLimit) === 0)) throw new ShoalError(ErrorCode.BAD_REQUEST, `--relay-limit must be a size such as 64MiB, not ${JSON.stringify(args.relayLimit)}`)
    for (const [flag, value] of [['--max-upload', args.maxUpload], ['--max-download', args.maxDownload], ['--max-upload-per-peer', args.maxUploadPerPeer], ['--max-download-per-peer', args.maxDownloadPerPeer]] as const) {
      if (value !== undefined && !isRate(value)) throw new ShoalError(ErrorCode.BAD_REQUEST, `${flag} must be a rate such as 2MiB/s, 500KB/s or 0 for none, not ${JSON.stringify(value)}`)
    }
    if (args.maxCache !== undefined && (!isRate(args.maxCache) || args.maxCache.trim().endsWith('/s'))) throw new ShoalError(ErrorCode.BAD_REQUEST, `--max-cache must be a size such as 20GiB or 0 for no limit, not ${JSON.stringify(args.maxCache)}`)
    if (args.metrics !== undefined && !isHostPort(args.metrics)) throw new ShoalError(ErrorCode.INVALID_ADDRESS, `--metrics must be HOST:PORT such as 127.0.0.1:9464, not ${JSON.stringify(args.metrics)}`)
    // a bare port is the loopback address: the gateway is never reachable from another host unless named
    const gateway = args.gateway !== undefined && /^\d{1,5}$/.test(args.gateway) ? `127.0.0.1:${args.gateway}` : args.gateway
    if (gateway !== undefined && !isHostPort(gateway)) throw new ShoalError(ErrorCode.INVALID_ADDRESS, `--gateway must be HOST:PORT such as 127.0.0.1:8080 (or a port), not ${JSON.stringify(args.gateway)}`)
    // a long-running process that moves bulk data: see gc-tuning.ts
    tuneGarbageCollector()
    // imported here so that other commands never load libp2p
    const { createShoal, STOP_TIMEOUT_MS } = await import('@shoal/daemon')
    let stopRequested: () => void = () => {}
    const stopped = new Promise<void>(resolve => { stopRequested = resolve })
    let peerEvents: Array<{ type: string, peerId: string }> | undefined = []
    const shoal = await createShoal({
      repo: repoDirOf(args),
      ...(args.listen !== undefined ? { listen: args.listen } : {}),
      ...(args.bootstrap !== undefined ? { bootstrap: args.bootstrap } : {}),
      ...(args.mdns !== undefined ? { mdns: args.mdns } : {}),
      ...(args.network !== undefined ? { network: args.network } : {}),
      ...(args.metrics !== undefined ? { metrics: args.metrics } : {}),
      ...(gateway !== undefined ? { gateway } : {}),
      ...(args.maxUpload !== undefined ? { maxUpload: args.maxUpload } : {}),
      ...(args.maxDownload !== undefined ? { maxDownload: args.maxDownload } : {}),
      ...(args.maxUploadPerPeer !== undefined ? { maxUploadPerPeer: args.maxUploadPerPeer } : {}),
      ...(args.maxDownloadPerPeer !== undefined ? { maxDownloadPerPeer: args.maxDownloadPerPeer } : {}),
      ...(args.maxCache !== undefined ? { maxCache: args.maxCache } : {}),
      ...(args.relay !== undefined ? { relay: args.relay } : {}),
      ...(args.upnp !== undefined ? { upnp: args.upnp } : {}),
      ...(args.relayLimit !== undefined ? { relayDataLimit: parseRate(args.relayLimit) } : {}),
      // --json: address changes (a relay reservation adds a /p2p-circuit address)
      ...(output.json ? { onAddressesChanged: (addrs: string[]) => { if (peerEvents === undefined) output.data({ event: 'addrs', addrs }) } } : {}),
      controlSocket: true,
      // --json: one line per peer event, for scripts that wait on the swarm
      ...(output.json ? { onPeerEvent: (e: { type: string, peerId: string }) => { if (peerEvents === undefined) output.data({ event: e.type, peerId: e.peerId }); else peerEvents.push(e) } } : {}),
      onStopRequested: () => { stopRequested() }
    })
    await shoal.start()
    // the first signal stops gracefully; a second one exits at once
    let signalled = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        process.stderr.write('shoal: second signal: exiting now\n')
        process.exit(signal === 'SIGINT' ? ExitCode.INTERRUPTED : 128 + 15)
      }
      signalled = true
      stopRequested()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)

    const status = await shoal.status()
    if (output.json) {
      output.data({ event: 'ready', peerId: status.peerId, addrs: status.addrs, repo: status.repo, ...(status.metrics !== undefined ? { metrics: status.metrics } : {}), ...(status.gateway !== undefined ? { gateway: status.gateway } : {}) })
      // peer events that happened while starting (bootstrap) come after 'ready'
      for (const e of peerEvents ?? []) output.data({ event: e.type, peerId: e.peerId })
      peerEvents = undefined
    } else {
      output.out(`shoal daemon ready`)
      output.out(`  peer id: ${status.peerId}`)
      output.out(`  repo:    ${status.repo}`)
      for (const a of status.addrs) output.out(`  listening on ${a}`)
      // public mode announces a public address only once AutoNAT has confirmed it
      if (status.addrs.length === 0) output.out('  no address announced yet: public addresses appear once other peers confirm they can dial them (AutoNAT), relayed ones once a relay grants a reservation')
      output.out(`  other nodes connect with: shoal connect ${status.addrs[0] ?? '<addr>'}`)
      if (status.metrics !== undefined) output.out(`  metrics on ${status.metrics}`)
      if (status.gateway !== undefined) output.out(`  gateway on ${status.gateway}/shoal/<id>/<path>; web UI: run \`shoal ui\` (its URL carries a token)`)
    }
    if (status.peers > 0 && !output.json) output.out(`  connected to ${status.peers} peer(s)`)
    await stopped
    output.info('stopping...')
    // every step of a stop is bounded; this is the backstop for the whole
    const deadline = setTimeout(() => {
      process.stderr.write(`shoal: the daemon did not stop within ${STOP_TIMEOUT_MS / 1000} s; exiting now (progress is saved as of the last flush)\n`)
      process.exit(ExitCode.FAILED)
    }, STOP_TIMEOUT_MS)
    await shoal.stop()
    clearTimeout(deadline)
    if (output.json) output.data({ event: 'stopped' })
    else output.out('shoal daemon stopped')
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // connections libp2p is still closing must not keep the process alive: the node is stopped
    await new Promise<void>(resolve => { process.stdout.write('', () => { resolve() }) })
    process.exit(process.exitCode ?? ExitCode.OK)
  }
}
