import { ErrorCode, ShoalError } from '@shoal/protocol'

/** "127.0.0.1:9464" or "[::1]:9464" → host and port (the form `isHostPort` accepts); INVALID_ADDRESS naming `what` otherwise. */
export function parseHostPort (value: string, what: string, example: string): { host: string, port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value)
  const port = Number(match?.[3])
  if (match === null || port > 65535) throw new ShoalError(ErrorCode.INVALID_ADDRESS, `${what} must be HOST:PORT such as ${example}, not ${JSON.stringify(value.slice(0, 200))}`)
  return { host: match[1] ?? match[2] ?? '', port }
}

/** Why binding a listening socket failed, in words. */
export function bindFailure (err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code
  if (code === 'EADDRINUSE') return 'address already in use'
  if (code === 'EADDRNOTAVAIL') return 'no such address on this machine'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'unknown host'
  if (code === 'EACCES') return 'permission denied (ports below 1024 need privileges)'
  return (err as Error)?.message ?? String(err)
}
