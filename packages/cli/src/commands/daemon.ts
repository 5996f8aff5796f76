import type { Argv, CommandModule } from 'yargs'
import type { GlobalArgs } from '../context.js'
import { outputOf, repoDirOf } from '../context.js'

interface DaemonArgs extends GlobalArgs {
  listen: string[]
  bootstrap: string[]
}

export const daemonCommand: CommandModule<GlobalArgs, DaemonArgs> = {
  command: 'daemon',
  describe: 'Run the Shoal node in the foreground (until Ctrl-C / SIGTERM / `shoal stop`)',
  builder: (y: Argv<GlobalArgs>) => y
    .option('listen', { type: 'string', array: true, default: ['/ip4/0.0.0.0/tcp/0'], describe: 'Multiaddr to listen on (repeatable)' })
    .option('bootstrap', { type: 'string', array: true, default: [], describe: 'Multiaddr of a peer to connect to at start (repeatable)' })
    .example('$0 daemon', 'start with the repo in ~/.shoal')
    .example('$0 daemon --repo /tmp/a --listen /ip4/127.0.0.1/tcp/4001', 'a second node on a fixed port') as Argv<DaemonArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    // imported here so that other commands never load libp2p
    const { createShoal } = await import('@shoal/daemon')
    let stopRequested: () => void = () => {}
    const stopped = new Promise<void>(resolve => { stopRequested = resolve })
    const shoal = await createShoal({ repo: repoDirOf(args), listen: args.listen, controlSocket: true, onStopRequested: () => { stopRequested() } })
    await shoal.start()
    const onSignal = (): void => { stopRequested() }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)

    const status = await shoal.status()
    if (output.json) {
      output.data({ event: 'ready', peerId: status.peerId, addrs: status.addrs, repo: status.repo })
    } else {
      output.out(`shoal daemon ready`)
      output.out(`  peer id: ${status.peerId}`)
      output.out(`  repo:    ${status.repo}`)
      for (const a of status.addrs) output.out(`  listening on ${a}`)
      output.out(`  other nodes connect with: shoal connect ${status.addrs[0] ?? '<addr>'}`)
    }
    for (const addr of args.bootstrap) {
      try {
        const { peerId } = await shoal.connect(addr)
        output.info(`connected to bootstrap peer ${peerId}`)
      } catch (err) {
        output.info(`warning: bootstrap peer ${addr}: ${(err as Error).message}`)
      }
    }
    await stopped
    output.info('stopping...')
    await shoal.stop()
    if (output.json) output.data({ event: 'stopped' })
    else output.out('shoal daemon stopped')
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
