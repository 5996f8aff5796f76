import { ErrorCode, ShoalError } from '@shoal/protocol'

/** Turn a Node fs error into a ShoalError with a message naming the path. */
export function fsError (err: unknown, action: string, path: string): ShoalError {
  if (err instanceof ShoalError) return err
  const code = (err as NodeJS.ErrnoException)?.code
  switch (code) {
    case 'ENOENT':
      return new ShoalError(ErrorCode.INVALID_PATH, `${action} ${path}: no such file or directory`, { cause: err })
    case 'EACCES':
    case 'EPERM':
      return new ShoalError(ErrorCode.INVALID_PATH, `${action} ${path}: permission denied`, { cause: err })
    case 'ENOTDIR':
      return new ShoalError(ErrorCode.INVALID_PATH, `${action} ${path}: a parent is not a directory`, { cause: err })
    case 'EISDIR':
      return new ShoalError(ErrorCode.INVALID_PATH, `${action} ${path}: is a directory`, { cause: err })
    case 'EEXIST':
      return new ShoalError(ErrorCode.PATH_EXISTS, `${action} ${path}: already exists`, { cause: err })
    case 'ENOSPC':
    case 'EDQUOT':
      return new ShoalError(ErrorCode.DISK_FULL, `${action} ${path}: no space left on device`, { cause: err })
    default:
      return new ShoalError(ErrorCode.IO_ERROR, `${action} ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}

/** The messages and codes of an error and its causes, for matching wrapped errors. */
export function describeChain (err: unknown): string {
  const parts: string[] = []
  let cur: unknown = err
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    const e = cur as { name?: string, code?: string, message?: string, cause?: unknown, errors?: unknown[] }
    parts.push(`${e.name ?? ''} ${e.code ?? ''} ${e.message ?? String(cur)}`)
    if (Array.isArray(e.errors)) for (const inner of e.errors) parts.push(describeChain(inner))
    cur = e.cause
  }
  return parts.join(' | ')
}

/** What a failed start becomes: INVALID_ADDRESS when it could not listen on `listen`, else INTERNAL. */
export function startError (err: unknown, listen: string[] | undefined): ShoalError {
  if (err instanceof ShoalError) return err
  const text = describeChain(err)
  const where = listen?.join(', ')
  if (/EADDRINUSE|address already in use/i.test(text)) return new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot listen: address already in use (${where ?? 'configured listen address'})`, { cause: err })
  // libp2p's messages run to several lines (a stack per listener): say the cause in one
  const firstLine = ((err as Error)?.message ?? String(err)).split('\n')[0]?.trim() ?? ''
  const why = /EADDRNOTAVAIL/.test(text)
    ? 'no such address on this machine'
    : /EACCES/.test(text) ? 'permission denied (ports below 1024 need privileges)' : firstLine.replace(/:$/, '')
  if (/multiaddr|invalid address|could not listen|failed to be listened on|NoValidAddresses|listen/i.test(text)) return new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot listen on ${where ?? 'the configured addresses'}: ${why}`, { cause: err })
  return new ShoalError(ErrorCode.INTERNAL, `cannot start: ${firstLine}`, { cause: err })
}
