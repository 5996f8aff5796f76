import { spawn } from 'node:child_process'
import type { Argv, CommandModule } from 'yargs'
import { ControlRoute } from '@shoal/protocol'
import type { UiAccess } from '@shoal/protocol'
import type { GlobalArgs } from '../context.js'
import { clientOf, outputOf } from '../context.js'

interface UiArgs extends GlobalArgs { print: boolean }

/** The command that opens a URL in the desktop's browser here, if there is one. */
export function browserOpener (platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): { cmd: string, args: string[] } | undefined {
  if (env.BROWSER !== undefined && env.BROWSER !== '') return { cmd: env.BROWSER, args: [] }
  if (platform === 'darwin') return { cmd: 'open', args: [] }
  if (platform === 'win32') return { cmd: 'cmd', args: ['/c', 'start', '""'] }
  // elsewhere only with a graphical session: a server or a container has no browser to open
  if ((env.DISPLAY ?? '') === '' && (env.WAYLAND_DISPLAY ?? '') === '') return undefined
  return { cmd: 'xdg-open', args: [] }
}

/** Start the browser on `url`, not waiting for it; false when it could not be started. */
async function openBrowser (url: string): Promise<boolean> {
  const opener = browserOpener()
  if (opener === undefined) return false
  return await new Promise<boolean>(resolve => {
    const child = spawn(opener.cmd, [...opener.args, url], { stdio: 'ignore', detached: true })
    child.once('error', () => { resolve(false) })
    child.once('spawn', () => { child.unref(); resolve(true) })
  })
}

export const uiCommand: CommandModule<GlobalArgs, UiArgs> = {
  command: 'ui',
  describe: "Print the web UI's URL with its token, and open it in a browser where there is one",
  builder: (y: Argv<GlobalArgs>) => y
    .option('print', { type: 'boolean', default: false, describe: 'Only print the URL; do not open a browser' })
    .example('$0 ui', 'open the web UI of the daemon (started with --gateway)')
    .example('$0 ui --print', 'print the URL (with its token) to open elsewhere on this machine')
    .example('$0 ui --json', '{"url", "loginUrl", "opened"}') as Argv<UiArgs>,
  handler: async (args) => {
    const output = outputOf(args)
    const access = await clientOf(args).call<UiAccess>('GET', ControlRoute.ui)
    const opened = args.print || args.json ? false : await openBrowser(access.loginUrl)
    if (output.json) { output.data({ ...access, opened }); return }
    output.out(access.loginUrl)
    output.info(opened
      ? 'opened in your browser; it keeps the token in a cookie (anyone with this URL can use the UI)'
      : 'open it in a browser on this machine; it keeps the token in a cookie (anyone with this URL can use the UI)')
  }
}
