import fs from 'node:fs/promises'
import path from 'node:path'
import { ErrorCode, REPO_CONFIG_KEYS, ShoalError, validateConfig } from '@shoal/protocol'
import type { RepoConfig } from '@shoal/protocol'
import { REPO_FILES } from '../constants.js'

// The schema lives in @shoal/protocol so that `shoal config` checks values
// exactly as the daemon does, without loading libp2p.
export { validateConfig }
export type { RepoConfig }

/**
 * The settings in effect: every key given in `options` (flags, embedding
 * options), else the one in `<repo>/config.json`; defaults are the caller's.
 */
export function effectiveSettings (options: RepoConfig, config: RepoConfig): RepoConfig {
  const out: Record<string, unknown> = { ...config }
  for (const key of Object.keys(REPO_CONFIG_KEYS)) {
    const value = (options as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  return out as RepoConfig
}

/** Read and validate `<repo>/config.json`; a missing file is an empty config. */
export async function readRepoConfig (repoDir: string): Promise<RepoConfig> {
  const file = path.join(repoDir, REPO_FILES.config)
  return validateConfig(await readConfigObject(file), file)
}

/**
 * A config file's JSON object as it is, not yet validated (`shoal config`
 * edits files that hold a bad key); `{}` when the file is missing;
 * REPO_INVALID when it cannot be read or is not a JSON object. This module
 * loads no libp2p: the CLI imports it as `@shoal/daemon/config`.
 */
export async function readConfigObject (file: string): Promise<Record<string, unknown>> {
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
    throw new ShoalError(ErrorCode.REPO_INVALID, `${file} is not valid JSON: ${(err as Error).message}; fix or remove it`, { cause: err })
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ShoalError(ErrorCode.REPO_INVALID, `${file} must hold a JSON object; fix or remove it`)
  return raw as Record<string, unknown>
}
