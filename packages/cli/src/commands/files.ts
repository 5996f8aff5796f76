import type { Argv, CommandModule } from 'yargs'
import { ControlRoute, decodeTicket, isIpfsId, isTicket, parseContentId, parseIpfsCid } from '@shoal/protocol'
import type { FilesResult } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import { formatBytes, plural } from '../format.js'

interface FilesArgs extends GlobalArgs {
  id: string
  timeout?: number
}

export const filesCommand: CommandModule<GlobalArgs, FilesArgs> = {
  command: 'files <id>',
  describe: 'List the files of a share (path, size, how much this node holds) from its manifest alone',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id (bafy...) or ticket (shoal1...); or the UnixFS CID of a share or file this node holds' })
    .option('timeout', { type: 'number', describe: 'Seconds to look for providers when this node has not got the manifest (default 20)' })
    .example('$0 files shoal1...', 'what is in a share before fetching any of it')
    .example("$0 fetch bafy... --only 'docs/**'", 'then fetch just some of it')
    .example('$0 files bafy... --json', '{"cid", "files": [{"path", "size", "held", "ipfs"}]}') as Argv<FilesArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    // a typo fails at once (exit 2), daemon or not
    if (isTicket(args.id)) decodeTicket(args.id)
    else if (isIpfsId(args.id)) parseIpfsCid(args.id)
    else parseContentId(args.id)
    const query = args.timeout !== undefined ? `?timeout=${encodeURIComponent(String(args.timeout))}` : ''
    const result = await clientOf(args).call<FilesResult>('GET', `${ControlRoute.files}/${encodeURIComponent(args.id.trim())}${query}`)
    if (output.json) { output.data(result); return }
    output.out(`${result.cid}  ${result.name}: ${result.kind === 'dir' ? `${plural(result.files.length, 'file')}, ` : ''}${formatBytes(result.size)}, ${heldText(result.held, result.size)} here`)
    if (result.ipfs !== undefined) output.out(`ipfs: ${result.ipfs}`)
    for (const f of result.files) {
      output.out(`  ${heldText(f.held, f.size).padStart(9)}  ${formatBytes(f.size).padStart(10)}  ${f.path === '' ? result.name : f.path}${f.ipfs !== undefined && result.files.length > 1 ? `  ${f.ipfs}` : ''}`)
    }
  }
}

/** "all", "none", or how much. */
function heldText (held: number, size: number): string {
  if (held >= size) return 'all'
  if (held === 0) return 'none'
  return `${formatBytes(held)}`
}
