import type { FilesResult } from '@shoal/protocol'

/** One entry of a directory listing. */
export interface ListingEntry {
  name: string
  type: 'file' | 'dir'
  /** Files only. */
  size?: number
  /** Files only: bytes held here. */
  held?: number
}

/** The entries directly inside directory `rel` ('' for the root) of a share, directories first; undefined when `rel` is no directory of it. */
export function entriesOf (files: FilesResult, rel: string): ListingEntry[] | undefined {
  const prefix = rel === '' ? '' : `${rel}/`
  const dirs = new Set<string>()
  const out: ListingEntry[] = []
  let found = rel === ''
  for (const f of files.files) {
    if (!f.path.startsWith(prefix)) continue
    found = true
    const rest = f.path.slice(prefix.length)
    const slash = rest.indexOf('/')
    if (slash >= 0) dirs.add(rest.slice(0, slash))
    else out.push({ name: rest, type: 'file', size: f.size, held: f.held })
  }
  for (const d of files.dirs) {
    if (d === rel) found = true
    if (!d.startsWith(prefix)) continue
    found = true
    const rest = d.slice(prefix.length)
    dirs.add(rest.split('/')[0] as string)
  }
  if (!found) return undefined
  return [...[...dirs].sort().map(name => ({ name, type: 'dir' as const })), ...out]
}

/** A directory listing as a small HTML page: links relative to the directory's own URL (which ends in `/`). */
export function listingHtml (cid: string, rel: string, entries: ListingEntry[]): string {
  const title = `/${rel}${rel === '' ? '' : '/'}`
  const rows = entries.map(e => {
    const href = encodeURIComponent(e.name) + (e.type === 'dir' ? '/' : '')
    const size = e.type === 'file' ? `${e.size ?? 0}` : ''
    const held = e.type === 'file' ? (e.held === e.size ? 'held' : `${e.held ?? 0} held`) : ''
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}${e.type === 'dir' ? '/' : ''}</a></td><td>${size}</td><td>${held}</td></tr>`
  })
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)} - ${escapeHtml(cid)}</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:0 1em}td:nth-child(2){text-align:right}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(cid)}</p>
<table><tr><th>name</th><th>bytes</th><th></th></tr>
${rel === '' ? '' : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n'}${rows.join('\n')}
</table></body></html>
`
}

function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c] as string))
}
