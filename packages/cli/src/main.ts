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
import { cancelCommand, pauseCommand } from './commands/downloads.js'
import { fetchCommand } from './commands/fetch.js'
import { filesCommand } from './commands/files.js'
import { connectCommand, lsCommand, peersCommand, statusCommand, stopCommand, unshareCommand } from './commands/info.js'
import { shareCommand } from './commands/share.js'
import { uiCommand } from './commands/ui.js'

const EPILOGUE = `Exit codes: 0 ok, 1 failed, 2 usage error (bad arguments, malformed id), 3 daemon not reachable, 130 interrupted (Ctrl-C; a fetch is paused).
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
    .command(pauseCommand)
    .command(cancelCommand)
    .command(statusCommand)
    .command(peersCommand)
    .command(connectCommand)
    .command(lsCommand)
    .command(unshareCommand)
    .command(stopCommand)
    .command(catCommand)
    .command(filesCommand)
    .command(configCommand)
    .command(uiCommand)
    .completion('completion', 'Print a shell completion script (bash; zsh when $SHELL is zsh)')
    .example('$0 daemon', 'start a node (repo ~/.shoal)')
    .example('$0 share ./photos', 'share a directory; prints a ticket')
    .example('$0 fetch shoal1... -o ~/Downloads/', 'download by ticket')
    .example('$0 cat bafy... notes.txt | less', 'read a file of any share (fetched as it goes)')
    .example('$0 files shoal1...', 'list a share\'s files before fetching')
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
      usageError = withSuggestion(msg ?? 'invalid usage', Object.keys((parser as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key), argv)
      // stop here: a command must never run with arguments it did not understand
      throw new UsageStop()
    })
    .exitProcess(false)

  try {
    const parsed = await parser.parseAsync() as unknown as GlobalArgs
    debug = parsed.debug ?? debug
  } catch (err) {
    if (usageError !== undefined) {
      process.stderr.write(`shoal: ${usageError}\nRun 'shoal --help' for usage.\n`)
      process.exitCode = ExitCode.USAGE
      return
    }
    reportError(err, debug, argv)
  }
}

/** Thrown from yargs' fail handler to stop before any command runs. */
class UsageStop extends Error {}

/**
 * yargs' "Unknown arguments: max-uplaod, maxUplaod" as one line naming each
 * unknown option once, with the closest known one where there is one:
 * "unknown option --max-uplaod (did you mean --max-upload?)". A word that was
 * not typed as an option is an unknown command (first) or an extra argument.
 */
export function withSuggestion (message: string, known: string[], argv: string[] = []): string {
  const match = /^Unknown arguments?: (.+)$/.exec(message)
  if (match === null) return message
  const names = (match[1] ?? '').split(', ')
  // yargs also lists the camelCase twin of a kebab-case unknown: name it once
  const unknown = names.filter(n => !(/[A-Z]/.test(n) && names.includes(kebab(n))))
  const kebabKnown = known.filter(k => k.length > 1 && !/[A-Z]/.test(k))
  const words = argv.filter(a => !a.startsWith('-'))
  const typedAsOption = (name: string): boolean => argv.some(a => a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}` || a === `-${name}` || (name.length === 1 && /^-[A-Za-z]+$/.test(a) && a.includes(name)))
  return unknown.map(name => {
    if (!typedAsOption(name) && words.includes(name)) {
      return words[0] === name ? `unknown command "${name}" (shoal --help lists them)` : `unexpected argument "${name}"`
    }
    let best: string | undefined
    let bestDistance = Infinity
    for (const key of kebabKnown) {
      const d = editDistance(name, key)
      if (d < bestDistance) { best = key; bestDistance = d }
    }
    const hint = best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean --${best}?)` : ''
    return `unknown option ${name.length === 1 ? '-' : '--'}${name}${hint}`
  }).join('; ')
}

function kebab (name: string): string {
  return name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => i === 0 ? j : j === 0 ? i : 0))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[]
      const prev = d[i - 1] as number[]
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1)
    }
  }
  return (d[a.length] as number[])[b.length] as number
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
