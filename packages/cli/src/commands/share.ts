import path from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import type { ShareResult } from '@shoal/protocol'
import { ControlRoute } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import { formatBytes } from '../format.js'

interface ShareArgs extends GlobalArgs {
  path: string
}

export const shareCommand: CommandModule<GlobalArgs, ShareArgs> = {
  command: 'share <path>',
  describe: 'Share a file or directory (served in place, nothing is copied)',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('path', { type: 'string', demandOption: true, describe: 'File or directory to share' })
    .example('$0 share ./video.mp4', 'prints a content id and a ticket')
    .example('$0 share ./photos --json', '{"cid": ..., "ticket": ...}') as Argv<ShareArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const abs = path.resolve(args.path)
    if (output.interactive) process.stderr.write(`hashing ${abs}...\n`)
    const result = await clientOf(args).call<ShareResult>('POST', ControlRoute.shares, { path: abs })
    if (output.json) { output.data(result); return }
    output.out(`shared ${result.name} (${result.kind === 'dir' ? `${result.files} files, ` : ''}${formatBytes(result.size)}, ${result.chunks} chunks)`)
    output.out(`content id: ${result.cid}`)
    output.out(`ticket:     ${result.ticket}`)
    output.info('')
    output.info('on another machine, run:')
    output.info(`  shoal fetch ${result.ticket}`)
  }
}
