import { constants as fsConstants } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { CONTROL_SOCKET_NAME, ErrorCode, ShoalError } from '@shoal/protocol'
import type { PrivateKey } from '@libp2p/interface'
import { REPO_FILES } from '../constants.js'
import { fsError } from '../errors.js'

const log = logger('shoal:repo')

/** The repo directory, opened and locked by this process. */
export interface Repo {
  dir: string
  socketPath: string
  datastorePath: string
  privateKey: PrivateKey
  /** Release the lock. */
  close(): Promise<void>
}

/**
 * The repo a node uses when none is given (the CLI's `--repo`, the `repo`
 * option): `$SHOAL_REPO` when set and not empty, else `~/.shoal`; absolute.
 *
 * @example
 * ```ts
 * defaultRepoDir()                                // '/home/me/.shoal'
 * defaultRepoDir({ SHOAL_REPO: 'work/shoal' })     // '<cwd>/work/shoal'
 * ```
 */
export function defaultRepoDir (env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.SHOAL_REPO
  return path.resolve(fromEnv !== undefined && fromEnv !== '' ? fromEnv : path.join(os.homedir(), '.shoal'))
}

/**
 * Open (creating if needed) a repo: directory mode 0700, an exclusive lock
 * file (a stale lock from a dead process is taken over), and the peer
 * identity (created on first run).
 */
export async function openRepo (dir: string): Promise<Repo> {
  const absDir = path.resolve(dir)
  try {
    await fs.mkdir(absDir, { recursive: true, mode: 0o700 })
    const st = await fs.stat(absDir)
    if (!st.isDirectory()) throw new ShoalError(ErrorCode.REPO_INVALID, `repo ${absDir} is not a directory`)
    if ((st.mode & 0o077) !== 0) await fs.chmod(absDir, 0o700)
  } catch (err) {
    if (err instanceof ShoalError) throw err
    const e = fsError(err, 'cannot create repo', absDir)
    throw new ShoalError(ErrorCode.REPO_INVALID, e.message, { cause: err })
  }
  const lockPath = path.join(absDir, REPO_FILES.lock)
  await acquireLock(lockPath)
  try {
    const privateKey = await loadOrCreateIdentity(path.join(absDir, REPO_FILES.identity))
    return {
      dir: absDir,
      socketPath: path.join(absDir, CONTROL_SOCKET_NAME),
      datastorePath: path.join(absDir, REPO_FILES.datastore),
      privateKey,
      close: async () => { await releaseLock(lockPath) }
    }
  } catch (err) {
    await releaseLock(lockPath)
    throw err
  }
}

async function acquireLock (lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await fs.open(lockPath, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      return
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, 'cannot lock repo', lockPath)
    }
    const owner = await readLockOwner(lockPath)
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      throw new ShoalError(ErrorCode.REPO_LOCKED, `repo ${path.dirname(lockPath)} is in use by another shoal daemon (pid ${owner}); stop it with \`shoal stop\` or use another --repo`, { details: { pid: owner } })
    }
    log('taking over stale lock %s (pid %s)', lockPath, owner)
    await fs.rm(lockPath, { force: true })
  }
  throw new ShoalError(ErrorCode.REPO_LOCKED, `could not lock repo ${path.dirname(lockPath)}`)
}

async function readLockOwner (lockPath: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await fs.readFile(lockPath, 'utf8')).trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function releaseLock (lockPath: string): Promise<void> {
  const owner = await readLockOwner(lockPath)
  if (owner === process.pid) await fs.rm(lockPath, { force: true })
}

async function loadOrCreateIdentity (keyPath: string): Promise<PrivateKey> {
  try {
    const bytes = await fs.readFile(keyPath)
    try {
      return privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new ShoalError(ErrorCode.REPO_INVALID, `identity key ${keyPath} is corrupt; move it away to create a new identity`, { cause: err })
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err instanceof ShoalError ? err : fsError(err, 'cannot read identity', keyPath)
  }
  const key = await generateKeyPair('Ed25519')
  const tmp = `${keyPath}.tmp`
  await fs.writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await fs.rename(tmp, keyPath)
  log('created identity %s', keyPath)
  return key
}
