import type { Argv, CommandModule } from 'yargs'
import { ControlRoute, decodeTicket, isIpfsId, isTicket, parseContentId, parseIpfsCid } from '@shoal/protocol'
import type { CancelResult, TransferInfo } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import { formatBytes } from '../format.js'

interface DownloadArgs extends GlobalArgs { id: string }

/** The content id an id or ticket names; a typo fails at once (exit 2). */
export function cidOf (id: string): string {
  return isTicket(id) ? decodeTicket(id).cid.toString() : isIpfsId(id) ? parseIpfsCid(id).toString() : parseContentId(id).toString()
}

export const pauseCommand: CommandModule<GlobalArgs, DownloadArgs> = {
  command: 'pause <id>',
  describe: 'Pause a download: it keeps what it verified and stays paused until fetched again',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id (or ticket) of the download' })
    .example('$0 pause bafy...', 'pause it; `shoal fetch bafy...` resumes it') as Argv<DownloadArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const cid = cidOf(args.id)
    const info = await clientOf(args).call<TransferInfo>('POST', `${ControlRoute.downloads}/${encodeURIComponent(cid)}/pause`)
    if (output.json) { output.data(info); return }
    output.out(`paused ${info.path} (${formatBytes(info.received)} of ${formatBytes(info.size)} kept); resume with: shoal fetch ${cid}`)
  }
}

export const cancelCommand: CommandModule<GlobalArgs, DownloadArgs> = {
  command: 'cancel <id>',
  describe: 'Stop a download and delete what it fetched (its .part file and record)',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id (or ticket) of the download' })
    .example('$0 cancel bafy...', 'stop it and remove its .part file') as Argv<DownloadArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const cid = cidOf(args.id)
    const result = await clientOf(args).call<CancelResult>('DELETE', `${ControlRoute.downloads}/${encodeURIComponent(cid)}`)
    if (output.json) output.data(result)
    else output.out(`cancelled the download of ${result.cid}; its .part file is removed`)
  }
}
