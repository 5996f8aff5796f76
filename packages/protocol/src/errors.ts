/**
 * Stable error codes. They cross the control socket as `{ error: { code, message } }`
 * and map to CLI exit codes; tests match on them. See docs/ERRORS.md.
 */
export const ErrorCode = {
  /** The request was malformed (bad JSON, wrong field types, unknown fields). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** A request body exceeded the size limit. */
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  /** No such route on the control API. */
  UNKNOWN_ROUTE: 'UNKNOWN_ROUTE',
  /** A string is neither a valid content id nor a valid ticket. */
  INVALID_ID: 'INVALID_ID',
  /** A ticket could not be decoded. */
  INVALID_TICKET: 'INVALID_TICKET',
  /** A path is missing, unreadable, or not allowed. */
  INVALID_PATH: 'INVALID_PATH',
  /** The output path exists and --force was not given. */
  PATH_EXISTS: 'PATH_EXISTS',
  /** A manifest failed validation (bad paths, sizes, hashes, encoding). */
  INVALID_MANIFEST: 'INVALID_MANIFEST',
  /** A peer frame was larger than allowed. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** A peer broke the wire protocol. */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** Data failed its hash check. */
  HASH_MISMATCH: 'HASH_MISMATCH',
  /** The content is not shared by this node. */
  NOT_FOUND: 'NOT_FOUND',
  /** No peer could provide the content. */
  NO_PROVIDERS: 'NO_PROVIDERS',
  /** Dialing a peer failed. */
  DIAL_FAILED: 'DIAL_FAILED',
  /** A multiaddr could not be parsed. */
  INVALID_ADDRESS: 'INVALID_ADDRESS',
  /** Local filesystem failure. */
  IO_ERROR: 'IO_ERROR',
  /** The disk is full. */
  DISK_FULL: 'DISK_FULL',
  /** Another daemon owns the repo. */
  REPO_LOCKED: 'REPO_LOCKED',
  /** The repo directory is unusable. */
  REPO_INVALID: 'REPO_INVALID',
  /** No daemon is listening on the repo's control socket. */
  DAEMON_NOT_RUNNING: 'DAEMON_NOT_RUNNING',
  /** The operation was cancelled. */
  ABORTED: 'ABORTED',
  /** The daemon is shutting down or not started. */
  NOT_STARTED: 'NOT_STARTED',
  /** Anything unexpected: a bug. */
  INTERNAL: 'INTERNAL'
} as const

export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode))

/** True when `code` is one of Shoal's stable error codes. */
export function isErrorCode (code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code)
}

/** The one error class Shoal throws; `code` says which kind of failure. */
export class ShoalError extends Error {
  override readonly name = 'ShoalError'
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>

  constructor (code: ErrorCode, message: string, options?: { cause?: unknown, details?: Record<string, unknown> }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.code = code
    if (options?.details !== undefined) {
      this.details = options.details
    }
  }

  /** The JSON shape used on the control socket. */
  toJSON (): { code: ErrorCode, message: string } {
    return { code: this.code, message: this.message }
  }
}

/** True when `err` is a ShoalError, optionally of the given code. */
export function isShoalError (err: unknown, code?: ErrorCode): err is ShoalError {
  return err instanceof ShoalError && (code === undefined || err.code === code)
}
