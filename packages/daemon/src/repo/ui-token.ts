/**
 * The web UI's token: a random secret kept in `<repo>/ui-token` (0600, in
 * the 0700 repo), made on first use. `shoal ui` hands it to a browser once,
 * in the URL it prints; the browser then holds it in a cookie. Deleting the
 * file (daemon stopped) makes a new one at the next start, which logs every
 * browser out.
 */
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import { fsError } from '../errors.js'

/** Name of the token file inside the repo. */
export const UI_TOKEN_FILE = 'ui-token'

/** The token of the repo at `dir`: read, or made (32 random bytes, base64url) and written 0600. */
export async function loadOrCreateUiToken (dir: string): Promise<string> {
  const file = path.join(dir, UI_TOKEN_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const text = (await fs.readFile(file, 'utf8')).trim()
      if (!/^[A-Za-z0-9_-]{32,128}$/.test(text)) throw new ShoalError(ErrorCode.REPO_INVALID, `${file} does not hold a UI token; remove it to make a new one`)
      const st = await fs.stat(file)
      if ((st.mode & 0o077) !== 0) await fs.chmod(file, 0o600)
      return text
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err instanceof ShoalError ? err : fsError(err, 'cannot read the UI token', file)
    }
    const token = crypto.randomBytes(32).toString('base64url')
    try {
      await fs.writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' })
      return token
    } catch (err) {
      // another process made it between our read and write: read theirs
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'cannot write the UI token', file)
    }
  }
  throw new ShoalError(ErrorCode.REPO_INVALID, `cannot read or make ${file}`)
}
