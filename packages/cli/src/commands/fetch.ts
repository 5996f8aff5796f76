import path from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import { ControlRoute, ErrorCode, ShoalError, decodeTicket, isTicket, parseContentId } from '@shoal/protocol'
import type { FetchEvent } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import { formatBytes, formatDuration, formatRate, progressLine } from '../format.js'

interface FetchArgs extends GlobalArgs {
  id: string
  output?: string
  force: boolean
  timeout?: number
}

export const fetchCommand: CommandModule<GlobalArgs, FetchArgs> = {
  command: 'fetch <id>',
  describe: 'Download by content id or ticket; exits 0 only when every byte is verified and in place',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id (bafy...) or ticket (shoal1...)' })
    .option('output', { alias: 'o', type: 'string', describe: 'Where to save it; end with / to save into a directory (default: ./<name>)' })
    .option('force', { type: 'boolean', default: false, describe: 'Replace the output path if it exists' })
    .option('timeout', { type: 'number', describe: 'Seconds to look for providers before giving up (default 20)' })
    .example('$0 fetch shoal1abc...', 'save into the current directory')
    .example('$0 fetch bafy... -o ~/Downloads/', 'save into ~/Downloads') as Argv<FetchArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    // check the id here: a typo fails at once, daemon or not
    if (isTicket(args.id)) decodeTicket(args.id)
    else parseContentId(args.id)
    const out = args.output === undefined
      ? process.cwd() + path.sep
      : path.resolve(args.output) + (/[/\\]$/.test(args.output) ? path.sep : '')
    const events = clientOf(args).stream<FetchEvent>('POST', ControlRoute.fetch, { id: args.id, out, force: args.force, ...(args.timeout !== undefined ? { timeout: args.timeout } : {}) })
    const line = output.statusLine()
    let done: Extract<FetchEvent, { type: 'done' }> | undefined
    try {
      for await (const event of events) {
        if (output.json) output.data(event)
        switch (event.type) {
          case 'resolving':
            if (output.interactive) output.info(`looking for ${event.cid} (${event.providers} candidate peer${event.providers === 1 ? '' : 's'})`)
            break
          case 'manifest':
            if (output.interactive) output.info(`fetching ${event.name}: ${event.kind === 'dir' ? `${event.files} files, ` : ''}${formatBytes(event.size)} in ${event.chunks} chunks -> ${event.path}`)
            break
          case 'progress':
            line?.update(progressLine(event.received, event.size, event.rate, event.peers))
            break
          case 'done':
            done = event
            break
          case 'error':
            throw new ShoalError(event.error.code, event.error.message)
        }
      }
    } finally {
      line?.finish()
    }
    if (done === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'the daemon closed the fetch stream before it finished (did it stop?)')
    if (!output.json) {
      const rate = done.seconds > 0 ? done.size / done.seconds : 0
      output.out(`${output.paint.out('green', 'saved')} ${done.path} (${formatBytes(done.size)} in ${formatDuration(done.seconds)}, ${formatRate(rate)}, verified)`)
    }
  }
}
