import path from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import type { ShareEvent, ShareResult, SkippedEntry } from '@shoal/protocol'
import { ControlRoute, ErrorCode, NDJSON_CONTENT_TYPE, ShoalError } from '@shoal/protocol'
import type { ControlClient } from '../client.js'
import type { GlobalArgs, Output } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import type { Paint } from '../colour.js'
import { plain } from '../colour.js'
import { formatBytes, hashingLine, plural, showsHashing } from '../format.js'

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
    const client = clientOf(args)
    // on a terminal, ask for hashing progress; otherwise one plain reply
    const result = output.interactive
      ? await shareWithProgress(client, abs, output)
      : await client.call<ShareResult>('POST', ControlRoute.shares, { path: abs })
    if (output.json) { output.data(result); return }
    for (const line of renderShare(result, output.paint.out)) output.out(line)
    const skipped = renderSkipped(result)
    if (skipped !== undefined && !output.quiet) process.stderr.write(skipped + '\n')
    output.info('')
    output.info('on another machine, run:')
    output.info(`  ${output.paint.err('bold', `shoal fetch ${result.ticket}`)}`)
  }
}

/** What `share` prints on stdout. */
export function renderShare (result: ShareResult, paint: Paint = plain): string[] {
  return [
    `${paint('green', 'shared')} ${result.name} (${result.kind === 'dir' ? `${plural(result.files, 'file')}, ` : ''}${formatBytes(result.size)}, ${plural(result.chunks, 'chunk')})`,
    `content id: ${result.cid}`,
    `ticket:     ${result.ticket}`,
    ...(result.ipfs !== undefined ? [`ipfs:       ${result.ipfs}`] : [])
  ]
}

/** One line about what a directory share left out, or undefined when nothing was. */
export function renderSkipped (result: ShareResult): string | undefined {
  // (a daemon older than this CLI says nothing of what it skipped)
  if (result.skipped === undefined || result.skipped.count === 0) return undefined
  const { count, byReason, first } = result.skipped
  const kinds: Array<[SkippedEntry['reason'], string]> = [['symlink', 'symlink'], ['special', 'special file'], ['name', 'unusable name']]
  const parts = kinds.flatMap(([reason, what]) => byReason[reason] > 0 ? [plural(byReason[reason], what)] : [])
  const more = count > first.length ? `, and ${count - first.length} more` : ''
  return `not shared: ${parts.join(', ')} (symlinks are never followed): ${first.map(e => e.path).join(', ')}${more}`
}

async function shareWithProgress (client: ControlClient, abs: string, output: Output): Promise<ShareResult> {
  const line = output.statusLine()
  try {
    for await (const event of client.stream<ShareEvent>('POST', ControlRoute.shares, { path: abs }, { accept: NDJSON_CONTENT_TYPE })) {
      if (event.type === 'hashing') {
        if (showsHashing(event.totalBytes)) line?.update(hashingLine(event.hashedBytes, event.totalBytes))
      } else if (event.type === 'done') {
        const { type: _type, ...result } = event
        return result
      } else {
        throw new ShoalError(event.error.code, event.error.message)
      }
    }
  } finally {
    line?.clear()
  }
  throw new ShoalError(ErrorCode.INTERNAL, 'the daemon closed the share stream before it finished (did it stop?)')
}
