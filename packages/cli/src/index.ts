/** @shoal/cli — the `shoal` command; also a typed client for the control socket. */
export { main } from './main.js'
export { ControlClient, errorFrom } from './client.js'
export { ExitCode, exitCodeFor } from './exit-codes.js'
