/**
 * @shoal/cli — the `shoal` command ({@link main}); also a typed client for a
 * running daemon's control socket ({@link ControlClient}), and the exit codes
 * the command uses.
 *
 * @example
 * ```ts
 * import { ControlClient } from '@shoal/cli'
 * import type { StatusInfo } from '@shoal/protocol'
 *
 * const client = new ControlClient('/home/me/.shoal/shoal.sock')
 * const status = await client.call<StatusInfo>('GET', '/v1/status')
 * ```
 *
 * @packageDocumentation
 */
export { main } from './main.js'
export { ControlClient, errorFrom } from './client.js'
export { ExitCode, exitCodeFor } from './exit-codes.js'
