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
