import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Argv, CommandModule } from 'yargs'
import { ErrorCode, REPO_CONFIG_FILE, REPO_CONFIG_KEYS, ShoalError, isRepoConfigKey, validateConfig } from '@shoal/protocol'
import type { RepoConfig, RepoConfigKey } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { outputOf, repoDirOf } from '../context.js'
import type { Paint } from '../colour.js'
import { plain } from '../colour.js'
import { readConfigObject } from '@shoal/daemon/config'

// `shoal config` edits <repo>/config.json directly: no daemon needed. The
// schema is the daemon's own (validateConfig in @shoal/protocol).

const KNOWN = Object.keys(REPO_CONFIG_KEYS).join(', ')

/** The key, checked: BAD_REQUEST (exit 2) naming it when unknown. */
export function configKey (key: string): RepoConfigKey {
  if (!isRepoConfigKey(key)) throw new ShoalError(ErrorCode.BAD_REQUEST, `unknown config key "${key}" (known: ${KNOWN})`)
  return key
}

/**
 * The value `shoal config set KEY VALUE...` means: lists take repeated values
 * or one JSON array; mdns takes true/false; network lan/public. Throws
 * BAD_REQUEST (exit 2) naming the key.
 */
export function parseConfigValue (key: string, values: string[]): { key: RepoConfigKey, value: RepoConfig[RepoConfigKey] } {
  const k = configKey(key)
  const spec = REPO_CONFIG_KEYS[k]
  const invalid = (why?: string): ShoalError =>
    new ShoalError(ErrorCode.BAD_REQUEST, `invalid value for "${k}": must be ${spec.expected}${why !== undefined ? ` (${why})` : ''}`)
  let value: unknown
  if (spec.kind === 'list') {
    const only = values.length === 1 ? (values[0] ?? '').trim() : undefined
    if (only?.startsWith('[') === true) {
      try {
        value = JSON.parse(only)
      } catch {
        throw invalid('not a valid JSON array')
      }
    } else {
      value = values.map(v => v.trim())
    }
  } else {
    if (values.length !== 1) throw invalid(`got ${values.length} values`)
    const only = values[0] ?? ''
    value = spec.kind === 'boolean' ? (only === 'true' ? true : only === 'false' ? false : only) : only
  }
  if (!spec.check(value)) {
    const shown = JSON.stringify(value)
    throw invalid(`got ${shown.length > 80 ? shown.slice(0, 77) + '...' : shown}`)
  }
  return { key: k, value: value as RepoConfig[RepoConfigKey] }
}

/** A value as `config get` prints it: list items one per line. */
export function formatConfigValue (value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String)
  return [String(value)]
}

/** `config show`: one aligned line per key (list items under each other); `(not set)` dim. */
export function renderConfig (config: RepoConfig, paint: Paint = plain): string[] {
  const keys = Object.keys(REPO_CONFIG_KEYS) as RepoConfigKey[]
  const width = Math.max(...keys.map(k => k.length)) + 2
  const lines: string[] = []
  for (const key of keys) {
    const value = config[key]
    const shown = value === undefined ? [paint('dim', '(not set)')] : Array.isArray(value) && value.length === 0 ? [paint('dim', '(empty list)')] : formatConfigValue(value)
    shown.forEach((v, i) => { lines.push(`${(i === 0 ? key : '').padEnd(width)}${v}`) })
  }
  return lines
}

export function configFileOf (args: GlobalArgs): string {
  return path.join(repoDirOf(args), REPO_CONFIG_FILE)
}

/** Write `config` to `file` atomically (temp file, fsync, rename); creates the repo 0700. */
export async function writeConfigFile (file: string, config: RepoConfig): Promise<void> {
  const dir = path.dirname(file)
  const created = await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  if (created !== undefined) await fs.chmod(dir, 0o700) // whatever the umask
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    const handle = await fs.open(tmp, 'wx', 0o600)
    try {
      await handle.writeFile(JSON.stringify(config, null, 2) + '\n')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fs.rename(tmp, file)
  } catch (err) {
    await fs.rm(tmp, { force: true })
    throw new ShoalError(ErrorCode.IO_ERROR, `cannot write ${file}: ${(err as Error).message}`, { cause: err })
  }
}

const APPLIES = 'a running daemon applies it at its next start; flags given to `shoal daemon` override it'

interface KeyArgs extends GlobalArgs { key: string }
interface SetArgs extends KeyArgs { values: string[] }

const showCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'show',
  describe: 'Print every setting (--json: the file\'s object)',
  builder: (y: Argv<GlobalArgs>) => y.example('$0 config show --repo /tmp/a', 'what the daemon of /tmp/a starts with'),
  handler: async (args) => {
    const output = outputOf(args)
    const file = configFileOf(args)
    const config = validateConfig(await readConfigObject(file), file)
    if (output.json) { output.data(config); return }
    for (const line of renderConfig(config, output.paint.out)) output.out(line)
    output.info(`(${file}; flags given to \`shoal daemon\` override it)`)
  }
}

const getCommand: CommandModule<GlobalArgs, KeyArgs> = {
  command: 'get <key>',
  describe: 'Print one setting (list items one per line)',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('key', { type: 'string', demandOption: true, describe: `One of: ${KNOWN}` })
    .example('$0 config get listen', 'one multiaddr per line') as Argv<KeyArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const key = configKey(args.key)
    const file = configFileOf(args)
    const value = validateConfig(await readConfigObject(file), file)[key]
    if (value === undefined) throw new ShoalError(ErrorCode.NOT_FOUND, `"${key}" is not set in ${file} (the daemon uses its default)`)
    if (output.json) output.data(value)
    else for (const line of formatConfigValue(value)) output.out(line)
  }
}

const setCommand: CommandModule<GlobalArgs, SetArgs> = {
  command: 'set <key> <values..>',
  describe: 'Set one setting: listen and bootstrap take several multiaddrs (or a JSON array), mdns true|false, network lan|public',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('key', { type: 'string', demandOption: true, describe: `One of: ${KNOWN}` })
    .positional('values', { type: 'string', array: true, demandOption: true, describe: 'The value; repeat it for a list' })
    .example('$0 config set listen /ip4/0.0.0.0/tcp/4001 /ip6/::/tcp/4001', 'listen on a fixed port')
    .example('$0 config set bootstrap \'["/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW..."]\'', 'a JSON array works too')
    .example('$0 config set mdns false', 'no LAN discovery') as Argv<SetArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const { key, value } = parseConfigValue(args.key, args.values.map(String))
    const file = configFileOf(args)
    const next = validateConfig({ ...await readConfigObject(file), [key]: value }, file)
    await writeConfigFile(file, next)
    if (output.json) { output.data({ key, value, file }); return }
    output.out(`${key} = ${JSON.stringify(value)}`)
    output.info(`${output.paint.err('green', 'saved')} ${file}; ${APPLIES}`)
  }
}

const unsetCommand: CommandModule<GlobalArgs, KeyArgs> = {
  command: 'unset <key>',
  describe: 'Remove one setting: the daemon goes back to its default',
  builder: (y: Argv<GlobalArgs>) => y
    .positional('key', { type: 'string', demandOption: true, describe: `One of: ${KNOWN}` })
    .example('$0 config unset bootstrap', 'start without bootstrap peers') as Argv<KeyArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const key = configKey(args.key)
    const file = configFileOf(args)
    const raw = await readConfigObject(file)
    const removed = key in raw
    delete raw[key]
    if (removed) await writeConfigFile(file, validateConfig(raw, file))
    if (output.json) { output.data({ key, removed, file }); return }
    output.out(removed ? `${output.paint.out('green', 'unset')} ${key}` : `${key} was not set`)
    if (removed) output.info(`${output.paint.err('green', 'saved')} ${file}; ${APPLIES}`)
  }
}

export const configCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'config',
  describe: 'Show or change <repo>/config.json (listen, bootstrap, mdns, network); no daemon needed',
  builder: (y: Argv<GlobalArgs>) => y
    .command(showCommand)
    .command(getCommand)
    .command(setCommand)
    .command(unsetCommand)
    .demandCommand(1, 'name an action: show, get, set or unset')
    .example('$0 config set listen /ip4/127.0.0.1/tcp/0', 'listen on loopback only')
    .example('$0 config get network', 'prints lan or public')
    .example('$0 config show --json', 'the whole file as one JSON object'),
  handler: () => {}
}
