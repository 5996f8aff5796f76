import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Argv, CommandModule } from 'yargs'
import { ControlRoute, ErrorCode, ShoalError, decodeTicket, isIpfsId, isTicket, parseContentId, parseIpfsCid } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf } from '../context.js'
import { getBytes } from '../raw-get.js'

interface CatArgs extends GlobalArgs {
  id: string
  path?: string
  timeout?: number
}

export const catCommand: CommandModule<GlobalArgs, CatArgs> = {
  command: 'cat <id> [path]',
  describe: 'Write a file of any share to stdout, verified chunk by chunk; what this node does not hold is fetched in file order as it goes (and kept)',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('id', { type: 'string', demandOption: true, describe: 'Content id (bafy...) or ticket (shoal1...); or the UnixFS CID (ipfs in ls and files) of a share or file this node holds' })
    .positional('path', { type: 'string', describe: 'File inside a directory share (required for a directory, omitted for a file)' })
    .option('timeout', { type: 'number', describe: 'Seconds to look for providers when this node has not got the manifest (default 20)' })
    .example('$0 cat shoal1... video.mp4 | mpv -', 'watch while it downloads')
    .example('$0 cat bafy... > copy.mp4', 'the bytes of a single-file share')
    .example('$0 cat bafy... docs/readme.txt | less', 'one file of a directory share')
    .example('$0 cat bafy... | head -c 100', 'stops reading early; the daemon stops too') as Argv<CatArgs>,
  handler: async (args) => {
    // a typo fails at once (exit 2), daemon or not; a ticket goes as it is (its sharer may be needed)
    const cid = isTicket(args.id) ? decodeTicket(args.id.trim()).cid.toString() : isIpfsId(args.id) ? parseIpfsCid(args.id).toString() : parseContentId(args.id).toString()
    const params = new URLSearchParams()
    if (args.path !== undefined) params.set('path', args.path)
    if (args.timeout !== undefined) params.set('timeout', String(args.timeout))
    const query = params.size > 0 ? `?${params.toString()}` : ''
    const { length: expected, body } = await getBytes(clientOf(args).socketPath, `${ControlRoute.cat}/${encodeURIComponent(isTicket(args.id) ? args.id.trim() : cid)}${query}`)
    const { bytes, readerGone } = await copyOut(body, process.stdout)
    if (readerGone) return // `| head -c 10`: the reader has what it wanted
    if (Number.isFinite(expected) && bytes !== expected) throw cutShort(cid, bytes, expected)
  }
}

/**
 * Copy `source` to `out` with backpressure, without ending `out`. A reader
 * that goes away (EPIPE) is not an error: the copy stops and `source` is
 * destroyed, which tells the daemon to stop reading.
 */
export async function copyOut (source: Readable, out: Writable): Promise<{ bytes: number, readerGone: boolean }> {
  let bytes = 0
  // errors while copying reach the pipeline; a late one (EPIPE after the
  // pipeline let go of `out`) must not crash the process with a stack trace
  out.on('error', () => {})
  try {
    source.on('data', (chunk: Buffer) => { bytes += chunk.byteLength })
    await pipeline(source, out, { end: false })
    return { bytes, readerGone: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') {
      source.destroy()
      return { bytes, readerGone: true }
    }
    // the daemon cut the reply short: it could not read or verify the rest
    if (source.errored !== null || (err as NodeJS.ErrnoException).code === 'ECONNRESET' || (err as Error).message === 'aborted') {
      return { bytes, readerGone: false }
    }
    throw err
  }
}

function cutShort (cid: string, bytes: number, expected: number): ShoalError {
  return new ShoalError(ErrorCode.IO_ERROR, `the daemon stopped sending ${cid} after ${bytes} of ${expected} bytes (did the file change on disk, or the daemon stop? see \`shoal ls\`)`)
}
