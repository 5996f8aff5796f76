import os from 'node:os'
import path from 'node:path'
import { CONTROL_SOCKET_NAME } from '@shoal/protocol'
import { ControlClient } from './client.js'
import type { Paint } from './colour.js'
import { colourEnabled, painter } from './colour.js'
import { StatusLine } from './progress.js'

/** Options every command takes. */
export interface GlobalArgs {
  repo?: string
  json: boolean
  debug: boolean
  quiet: boolean
}

/** Where output goes and how it looks. */
export interface Output {
  json: boolean
  quiet: boolean
  /** stderr is a terminal and neither --json nor --quiet: progress may be animated. */
  interactive: boolean
  /** Data for the user (stdout). */
  out(line: string): void
  /** One JSON value (stdout). */
  data(value: unknown): void
  /** Status and diagnostics (stderr); silent with --json or --quiet. */
  info(line: string): void
  /** A status line redrawn in place on stderr; only when `interactive`. */
  statusLine(): StatusLine | undefined
  /**
   * Colour for what goes to stdout (`out`) and to stderr (`err`): the identity
   * with --json, or when that stream is not a colour terminal (colour.ts).
   */
  paint: { out: Paint, err: Paint }
}

export function repoDirOf (args: GlobalArgs, env: NodeJS.ProcessEnv = process.env): string {
  if (args.repo !== undefined && args.repo !== '') return path.resolve(args.repo)
  if (env.SHOAL_REPO !== undefined && env.SHOAL_REPO !== '') return path.resolve(env.SHOAL_REPO)
  return path.join(os.homedir(), '.shoal')
}

export function clientOf (args: GlobalArgs): ControlClient {
  return new ControlClient(path.join(repoDirOf(args), CONTROL_SOCKET_NAME))
}

/**
 * True when progress may be drawn: stderr is a terminal that understands `\r`
 * (not TERM=dumb), and the user asked for neither --json nor --quiet.
 */
export function isInteractive (args: Pick<GlobalArgs, 'json' | 'quiet'>, stderrIsTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return stderrIsTTY && env.TERM !== 'dumb' && !args.json && !args.quiet
}

export function outputOf (args: GlobalArgs): Output {
  const interactive = isInteractive(args, process.stderr.isTTY === true)
  const paint = {
    out: painter(!args.json && colourEnabled(process.stdout)),
    err: painter(!args.json && colourEnabled(process.stderr))
  }
  return {
    json: args.json,
    quiet: args.quiet,
    interactive,
    out: (line) => { process.stdout.write(line + '\n') },
    data: (value) => { process.stdout.write(JSON.stringify(value) + '\n') },
    info: (line) => { if (!args.quiet && !args.json) process.stderr.write(line + '\n') },
    statusLine: () => interactive ? new StatusLine(process.stderr, paint.err) : undefined,
    paint
  }
}
