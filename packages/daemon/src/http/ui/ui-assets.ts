/**
 * The web UI's files, built by `npm run build` (packages/daemon/ui/, bundled
 * with esbuild into `dist/ui/`) and read into memory once: the app page,
 * the page shown without a token, and `assets/` whose names carry a hash
 * of their content (so they are cached for good).
 */
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { lookup } from 'mrmime'

/** One file, ready to send. */
export interface UiFile {
  body: Buffer
  type: string
  etag: string
}

/** The UI's files by name: `index.html`, `locked.html`, `assets/<name>`. */
export type UiFiles = ReadonlyMap<string, UiFile>

/**
 * Where the built UI is: `dist/ui/` beside the compiled daemon (`dist/http/ui/` → `dist/ui/`); from the
 * sources (tests run them), the package's `dist/ui/`.
 */
export function defaultUiDir (): string {
  // dist/http/ui/ or src/http/ui/: three levels below the package
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'ui')
}

/** Read every file of the built UI in `dir` (a few small files, once at start); an empty map when it was not built. */
export function readUiFiles (dir: string = defaultUiDir()): UiFiles {
  const out = new Map<string, UiFile>()
  const names = [...list(dir, ''), ...list(path.join(dir, 'assets'), 'assets/')]
  for (const name of names) {
    const body = fs.readFileSync(path.join(dir, name))
    const etag = `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
    out.set(name, { body, type: typeOf(name), etag })
  }
  return out
}

function list (dir: string, prefix: string): string[] {
  try {
    const entries = fs.readdirSync(dir, { withFileTypes: true })
    return entries.filter(e => e.isFile()).map(e => prefix + e.name)
  } catch {
    return []
  }
}

function typeOf (name: string): string {
  const type = lookup(name) ?? 'application/octet-stream'
  return /^(text\/|application\/javascript|application\/json|image\/svg)/.test(type) ? `${type}; charset=utf-8` : type
}
