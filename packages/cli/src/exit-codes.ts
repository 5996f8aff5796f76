import { ErrorCode } from '@shoal/protocol'

/** The CLI's exit codes (docs/ERRORS.md). */
export const ExitCode = {
  /** Done, completely (a fetch: every byte verified and in place). */
  OK: 0,
  /** The operation failed; stderr says why, with the error code. */
  FAILED: 1,
  /** Bad arguments or a malformed id, ticket or address: retrying will not help. */
  USAGE: 2,
  /** No daemon answers on the repo's control socket. */
  DAEMON_NOT_RUNNING: 3,
  /** Interrupted by Ctrl-C (128 + SIGINT, as shells report it): a fetch is paused, its progress kept. */
  INTERRUPTED: 130
} as const

const USAGE_CODES = new Set<string>([ErrorCode.INVALID_ID, ErrorCode.INVALID_TICKET, ErrorCode.INVALID_ADDRESS, ErrorCode.BAD_REQUEST, ErrorCode.NO_MATCH])

/**
 * Exit code for an error code.
 *
 * @example
 * ```ts
 * exitCodeFor(ErrorCode.INVALID_TICKET)     // 2 (ExitCode.USAGE)
 * exitCodeFor(ErrorCode.DAEMON_NOT_RUNNING) // 3
 * exitCodeFor(ErrorCode.NO_PROVIDERS)       // 1
 * ```
 */
export function exitCodeFor (code: string): number {
  if (code === ErrorCode.DAEMON_NOT_RUNNING) return ExitCode.DAEMON_NOT_RUNNING
  if (USAGE_CODES.has(code)) return ExitCode.USAGE
  return ExitCode.FAILED
}
