import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'
import { ErrorCode, SHOAL_VERSION, toShoalError } from '@shoal/protocol'
import type { GlobalArgs } from './context.js'
import { repoDirOf } from './context.js'
import { colourEnabled, painter } from './colour.js'
import { ExitCode, exitCodeFor } from './exit-codes.js'
import { catCommand } from './commands/cat.js'
import { configCommand } from './commands/config.js'
import { daemonCommand } from './commands/daemon.js'
import { fetchCommand } from './commands/fetch.js'
import { connectCommand, lsCommand, peersCommand, statusCommand, stopCommand, unshareCommand } from './commands/info.js'
import { shareCommand } from './commands/share.js'

const EPILOGUE = `Exit codes: 0 ok, 1 failed, 2 usage error (bad arguments, malformed id), 3 daemon not reachable.
The repo (identity, database, control socket) is --repo, else $SHOAL_REPO, else ~/.shoal.`

/**
 * Run the CLI with `argv` (without node and script): parse it, run the
 * command, report an error on stderr. Sets `process.exitCode` (see
 * {@link ExitCode}) rather than exiting, so output can flush.
 *
 * @example
 * ```ts
 * await main(['share', './photos', '--json'])
 * ```
 */
export async function main (argv: string[] = hideBin(process.argv)): Promise<void> {
  let debug = argv.includes('--debug')
  let usageError: string | undefined
  const parser = yargs(argv)
    .scriptName('shoal')
    .usage('$0 <command> [options]\n\nPeer-to-peer file sharing on libp2p.')
    .option('repo', { type: 'string', describe: 'Repo directory (default: $SHOAL_REPO or ~/.shoal)', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'Machine output: one JSON object, or NDJSON for streams', global: true })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Only print results and errors', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'Show stack traces on errors', global: true })
    .command(daemonCommand)
    .command(shareCommand)
    .command(fetchCommand)
    .command(statusCommand)
    .command(peersCommand)
    .command(connectCommand)
    .command(lsCommand)
    .command(unshareCommand)
    .command(stopCommand)
    .command(catCommand)
    .command(configCommand)
    .completion('completion', 'Print a shell completion script (bash; zsh when $SHELL is zsh)')
    .example('$0 daemon', 'start a node (repo ~/.shoal)')
    .example('$0 share ./photos', 'share a directory; prints a ticket')
    .example('$0 fetch shoal1... -o ~/Downloads/', 'download by ticket')
    .example('$0 cat bafy... notes.txt | less', 'read a shared or fetched file')
    .example('$0 completion >> ~/.bashrc', 'tab completion (zsh: >> ~/.zshrc)')
    .demandCommand(1, 'name a command (see shoal --help)')
    .strict()
    .recommendCommands()
    .epilogue(EPILOGUE)
    .help()
    .alias('help', 'h')
    .version(SHOAL_VERSION)
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err !== undefined && err !== null) throw err
      usageError = msg ?? 'invalid usage'
    })
    .exitProcess(false)

  try {
    const parsed = await parser.parseAsync() as unknown as GlobalArgs
    debug = parsed.debug ?? debug
    if (usageError !== undefined) {
      process.stderr.write(`shoal: ${usageError}\nRun 'shoal --help' for usage.\n`)
      process.exitCode = ExitCode.USAGE
    }
  } catch (err) {
    if (usageError !== undefined) {
      process.stderr.write(`shoal: ${usageError}\nRun 'shoal --help' for usage.\n`)
      process.exitCode = ExitCode.USAGE
      return
    }
    reportError(err, debug, argv)
  }
}

function reportError (err: unknown, debug: boolean, argv: string[]): void {
  const e = toShoalError(err)
  // --json callers read stderr too: no colour for them
  const paint = painter(!argv.some(a => a === '--json' || a === '--json=true') && colourEnabled(process.stderr))
  let line = `shoal: ${paint('red', 'error:')} ${e.message}`
  if (e.code === ErrorCode.DAEMON_NOT_RUNNING) {
    const repoAt = argv.indexOf('--repo')
    const repo = repoAt >= 0 ? argv[repoAt + 1] : undefined
    line += `\n  start one with: shoal daemon${repo !== undefined ? ` --repo ${repo}` : ''}  (repo ${repoDirOf(repo !== undefined ? { repo, json: false, debug: false, quiet: false } : { json: false, debug: false, quiet: false })})`
  }
  process.stderr.write(line + ` [${e.code}]\n`)
  if (debug) process.stderr.write(((err as Error)?.stack ?? String(err)) + '\n')
  process.exitCode = exitCodeFor(e.code)
}
