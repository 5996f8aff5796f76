import fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import { REPO_FILES } from './constants.js'

/** What `<repo>/config.json` may hold. Flags and options override it. */
export interface RepoConfig {
  listen?: string[]
  bootstrap?: string[]
  mdns?: boolean
  network?: 'lan' | 'public'
}

type Check = (value: unknown) => boolean
const stringList: Check = v => Array.isArray(v) && v.every(x => typeof x === 'string' && x.length > 0 && x.length < 1024)

const KEYS: Record<keyof RepoConfig, { check: Check, expected: string }> = {
  listen: { check: stringList, expected: 'a list of multiaddr strings' },
  bootstrap: { check: stringList, expected: 'a list of multiaddr strings' },
  mdns: { check: v => typeof v === 'boolean', expected: 'true or false' },
  network: { check: v => v === 'lan' || v === 'public', expected: '"lan" or "public"' }
}

/** Read and validate `<repo>/config.json`; a missing file is an empty config. */
export async function readRepoConfig (repoDir: string): Promise<RepoConfig> {
  const file = path.join(repoDir, REPO_FILES.config)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new ShoalError(ErrorCode.REPO_INVALID, `cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new ShoalError(ErrorCode.REPO_INVALID, `${file} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  return validateConfig(raw, file)
}

export function validateConfig (raw: unknown, where: string): RepoConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ShoalError(ErrorCode.REPO_INVALID, `${where} must hold a JSON object`)
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    const spec = KEYS[key as keyof RepoConfig]
    if (spec === undefined) throw new ShoalError(ErrorCode.REPO_INVALID, `${where}: unknown key "${key}" (known: ${Object.keys(KEYS).join(', ')})`)
    if (!spec.check(value)) throw new ShoalError(ErrorCode.REPO_INVALID, `${where}: "${key}" must be ${spec.expected}`)
    out[key] = value
  }
  return out as RepoConfig
}
