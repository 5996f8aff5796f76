/**
 * Stable error codes. They cross the control socket as `{ error: { code, message } }`
 * and map to CLI exit codes; tests match on them. See docs/ERRORS.md.
 * Match on the code, never on the message text: messages may be reworded.
 *
 * @example
 * ```ts
 * try {
 *   await node.fetch(id)
 * } catch (err) {
 *   if (isShoalError(err, ErrorCode.NO_PROVIDERS)) console.error('no one shares it right now; try later')
 *   else throw err
 * }
 * ```
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
  /** IPFS content is not UnixFS that can be saved (undecodable nodes, sizes that disagree, unusable names). */
  INVALID_DAG: 'INVALID_DAG',
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
  /** A `--only` pattern matched no file of the share. */
  NO_MATCH: 'NO_MATCH',
  /** A read waited too long for a chunk that no provider sent. */
  TIMEOUT: 'TIMEOUT',
  /** The daemon serves no web UI: it was started without a gateway address (`--gateway`). */
  UI_UNAVAILABLE: 'UI_UNAVAILABLE',
  /** A web UI request without the UI token, or a state-changing one from another origin. */
  FORBIDDEN: 'FORBIDDEN',
  /** Anything unexpected: a bug. */
  INTERNAL: 'INTERNAL'
} as const

/** One of the {@link ErrorCode} strings, e.g. `'NOT_FOUND'`. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode))

/**
 * A {@link ShoalError} as JSON: what crosses the control socket (the `error`
 * of an {@link ErrorBody} and of `error` events) and what the daemon records
 * for a failed download.
 */
export interface ShoalErrorJSON {
  /** Which kind of failure. */
  code: ErrorCode
  /** What failed, for people. */
  message: string
}

/**
 * True when `code` is one of Shoal's stable error codes.
 *
 * @example
 * ```ts
 * isErrorCode('NOT_FOUND') // true
 * isErrorCode('ENOENT')    // false
 * ```
 */
export function isErrorCode (code: unknown): code is ErrorCode {
  return typeof code === 'string' && KNOWN_CODES.has(code)
}

/**
 * The one error class Shoal throws; `code` says which kind of failure. The
 * control client rebuilds it from a reply's `{ error: { code, message } }`,
 * so code that embeds the node and code that talks to the daemon handle
 * errors the same way.
 *
 * @example
 * ```ts
 * throw new ShoalError(ErrorCode.INVALID_PATH, `cannot share ${path}: no such file or directory`, { cause: err })
 * ```
 */
export class ShoalError extends Error {
  /** Always `'ShoalError'`. */
  override readonly name = 'ShoalError'
  /** Which kind of failure: stable, documented in docs/ERRORS.md. */
  readonly code: ErrorCode
  /** Extra facts for programs, e.g. `{ pid }` of the daemon holding a REPO_LOCKED repo; not sent over the control socket. */
  readonly details?: Record<string, unknown>

  /**
   * @param code - which kind of failure
   * @param message - for people: what failed and, where it helps, what to do about it
   * @param options - `cause`: the underlying error; `details`: see {@link ShoalError.details}
   */
  constructor (code: ErrorCode, message: string, options?: { cause?: unknown, details?: Record<string, unknown> }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.code = code
    if (options?.details !== undefined) {
      this.details = options.details
    }
  }

  /** The JSON shape used on the control socket: `{ code, message }` (also what `JSON.stringify` writes). */
  toJSON (): ShoalErrorJSON {
    return { code: this.code, message: this.message }
  }
}

/**
 * True when `err` is a ShoalError, optionally of the given code.
 *
 * @example
 * ```ts
 * if (isShoalError(err, ErrorCode.PATH_EXISTS)) await node.fetch(id, { out, force: true })
 * ```
 */
export function isShoalError (err: unknown, code?: ErrorCode): err is ShoalError {
  return err instanceof ShoalError && (code === undefined || err.code === code)
}

/**
 * `err` as a ShoalError: itself when it is one, else INTERNAL carrying its
 * message, with `err` as the cause. The one place an unexpected failure
 * gets a code before it crosses the control socket or reaches a user.
 *
 * @example
 * ```ts
 * catch (err) { write({ type: 'error', error: toShoalError(err).toJSON() }) }
 * ```
 */
export function toShoalError (err: unknown): ShoalError {
  if (err instanceof ShoalError) return err
  return new ShoalError(ErrorCode.INTERNAL, (err as Error)?.message ?? String(err), { cause: err })
}
