import path from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import { ControlRoute, ErrorCode, ShoalError, normalizeGlob } from '@shoal/protocol'
import type { FetchEvent, FetchRequest, TransferInfo } from '@shoal/protocol'
import type { ControlClient } from '../client.js'
import type { GlobalArgs, Output } from '../context.js'
import { clientOf, outputOf } from '../context.js'
import { cidOf } from './downloads.js'
import { ExitCode } from '../exit-codes.js'
import { formatBytes, formatDuration, formatRate, plural, progressLine } from '../format.js'

interface FetchArgs extends GlobalArgs {
  id: string
  output?: string
  force: boolean
  timeout?: number
  detach: boolean
  only?: string[]
  peer?: string[]
}

export const fetchCommand: CommandModule<GlobalArgs, FetchArgs> = {
  command: 'fetch <id>',
  describe: 'Download by content id, ticket or IPFS CID; exits 0 only when every byte is verified and in place. Ctrl-C pauses it',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id (bafyrei...), ticket (shoal1...), or an IPFS UnixFS CID (bafy..., bafk..., Qm...) fetched over Bitswap' })
    .option('output', { alias: 'o', type: 'string', describe: 'Where to save it; end with / to save into a directory (default: ./<name>, or where a paused download of it is)' })
    .option('force', { type: 'boolean', default: false, describe: 'Replace the output path if it exists' })
    .option('timeout', { type: 'number', describe: 'Seconds to look for providers before giving up (default 20)' })
    .option('only', { type: 'string', array: true, requiresArg: true, describe: 'Fetch only the files this path or glob inside the share selects (repeatable; *, ?, **, [abc], {a,b}; a directory selects what is below it); a later fetch with other patterns adds to them' })
    .option('detach', { type: 'boolean', default: false, describe: 'Start (or resume) the download and return at once; it goes on in the daemon (`shoal ls` shows it)' })
    .option('peer', { type: 'string', array: true, describe: 'IPFS CIDs: a provider to dial, as a multiaddr ending in /p2p/<peer id> (repeatable)' })
    .example('$0 fetch shoal1abc...', 'save into the current directory')
    .example('$0 fetch bafy... -o ~/Downloads/', 'save into ~/Downloads')
    .example("$0 fetch bafy... --only 'videos/*.mp4' -o ~/Downloads/", 'only the mp4 files of videos/, in their place under ~/Downloads/<name>/')
    .example('$0 fetch bafy... --detach', 'download in the background; `shoal pause` / `shoal cancel` act on it')
    .example('$0 fetch bafybei... --peer /ip4/192.0.2.7/tcp/4001/p2p/12D3KooW...', 'fetch IPFS content from a Kubo or Helia node') as Argv<FetchArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    // check the id here: a typo fails at once, daemon or not
    const cid = cidOf(args.id)
    // a bad pattern is a usage error before the daemon is asked anything
    args.only?.forEach(normalizeGlob)
    const request: FetchRequest = {
      ...(args.only !== undefined ? { only: args.only } : {}),
      id: args.id,
      cwd: process.cwd(),
      force: args.force,
      ...(args.output !== undefined ? { out: path.resolve(args.output) + (/[/\\]$/.test(args.output) ? path.sep : '') } : {}),
      ...(args.timeout !== undefined ? { timeout: args.timeout } : {}),
      ...(args.peer !== undefined && args.peer.length > 0 ? { peers: args.peer } : {})
    }
    const client = clientOf(args)
    if (args.detach) {
      const info = await client.call<TransferInfo>('POST', ControlRoute.fetch, { ...request, detach: true })
      if (output.json) output.data(info)
      else if (info.state === 'done') output.out(`${output.paint.out('green', 'saved')} ${info.path} (already complete)`)
      else output.out(`fetching ${cid} in the background -> ${info.path}\n  progress: shoal ls   pause: shoal pause ${cid}   cancel: shoal cancel ${cid}`)
      return
    }
    await followFetch(client, cid, request, output)
  }
}

/** Stream a fetch's events, drawing progress; Ctrl-C pauses the download. */
async function followFetch (client: ControlClient, cid: string, request: FetchRequest, output: Output): Promise<void> {
  const line = output.statusLine()
  let done: Extract<FetchEvent, { type: 'done' }> | undefined
  let last: Extract<FetchEvent, { type: 'progress' }> | undefined
  let savedTo: string | undefined
  let interrupted = false
  let pausing: Promise<TransferInfo | undefined> | undefined
  // Ctrl-C: pause the download in the daemon (it keeps every verified chunk);
  // a second Ctrl-C leaves at once
  const onSigint = (): void => {
    if (interrupted) { line?.finish(); process.exit(ExitCode.INTERRUPTED) }
    interrupted = true
    pausing = client.call<TransferInfo>('POST', `${ControlRoute.downloads}/${encodeURIComponent(cid)}/pause`).catch(() => undefined)
  }
  process.on('SIGINT', onSigint)
  try {
    for await (const event of client.stream<FetchEvent>('POST', ControlRoute.fetch, request)) {
      if (output.json) output.data(event)
      switch (event.type) {
        case 'resolving':
          if (output.interactive) output.info(`looking for ${event.cid} (${event.providers} candidate peer${event.providers === 1 ? '' : 's'})`)
          break
        case 'manifest':
          savedTo = event.path
          if (output.interactive) output.info(`fetching ${event.name}: ${event.kind === 'dir' ? `${plural(event.files, 'file')}, ` : ''}${formatBytes(event.size)} in ${plural(event.chunks, 'chunk')} -> ${event.path}`)
          break
        case 'progress':
          last = event
          line?.update(progressLine(event.received, event.size, event.rate, event.peers))
          break
        case 'done':
          done = event
          break
        case 'error':
          if (interrupted && event.error.code === ErrorCode.ABORTED) break
          throw new ShoalError(event.error.code, event.error.message)
      }
    }
  } finally {
    // after Ctrl-C the terminal echoed ^C over the bar: the paused line replaces it
    if (interrupted) line?.clear()
    else line?.finish()
    process.off('SIGINT', onSigint)
  }
  if (interrupted && done === undefined) {
    const paused = await pausing
    reportPaused(output, cid, paused, last, savedTo)
    process.exitCode = ExitCode.INTERRUPTED
    return
  }
  if (done === undefined) throw new ShoalError(ErrorCode.INTERNAL, 'the daemon closed the fetch stream before it finished (did it stop?)')
  if (!output.json) {
    const rate = done.seconds > 0 ? done.size / done.seconds : 0
    output.out(`${output.paint.out('green', 'saved')} ${done.path} (${formatBytes(done.size)} in ${formatDuration(done.seconds)}, ${formatRate(rate)}, verified)`)
  }
}

/** One line on stderr: what was kept and how to resume (`--json`: a `paused` event on stdout). */
function reportPaused (output: Output, cid: string, info: TransferInfo | undefined, last: Extract<FetchEvent, { type: 'progress' }> | undefined, savedTo: string | undefined): void {
  const received = info?.received ?? last?.received ?? 0
  const size = info?.size ?? last?.size ?? 0
  const where = info?.path ?? savedTo
  if (output.json) { output.data({ type: 'paused', cid, received, size, ...(where !== undefined ? { path: where } : {}) }); return }
  // stopped while still looking for providers: there is no download to resume
  if (where === undefined) { process.stderr.write(`stopped before the download began; nothing was kept. fetch again with: shoal fetch ${cid}\n`); return }
  process.stderr.write(`paused ${where} (${formatBytes(received)} of ${formatBytes(size)} kept); resume with: shoal fetch ${cid}\n`)
}
