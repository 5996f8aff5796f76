import { ErrorCode } from '@shoal/protocol'

/** The CLI's exit codes (docs/ERRORS.md). */
export const ExitCode = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  DAEMON_NOT_RUNNING: 3
} as const

const USAGE_CODES = new Set<string>([ErrorCode.INVALID_ID, ErrorCode.INVALID_TICKET, ErrorCode.INVALID_ADDRESS, ErrorCode.BAD_REQUEST])

/** Exit code for an error code. */
export function exitCodeFor (code: string): number {
  if (code === ErrorCode.DAEMON_NOT_RUNNING) return ExitCode.DAEMON_NOT_RUNNING
  if (USAGE_CODES.has(code)) return ExitCode.USAGE
  return ExitCode.FAILED
}
