/**
 * The daemon's control API as the web UI reaches it: `/ui/api/v1/…` on the
 * page's own origin (the browser sends the UI cookie; POST and DELETE carry
 * `Origin` and a JSON body), and the live events of `/ui/api/v1/events`.
 */
import type { FilesResult, ShareResult, TransferInfo } from '@shoal/protocol'

const BASE = '/ui/api/v1'

/** A failed call: the daemon's error code and message. */
export class ApiError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
  }
}

async function call<T> (method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(BASE + path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  let json: unknown
  try { json = text === '' ? {} : JSON.parse(text) } catch { throw new ApiError('INTERNAL', `the daemon answered ${res.status}: ${text.slice(0, 200)}`) }
  if (!res.ok) {
    const err = (json as { error?: { code?: string, message?: string } }).error
    throw new ApiError(err?.code ?? 'INTERNAL', err?.message ?? `HTTP ${res.status}`)
  }
  return json as T
}

const enc = encodeURIComponent

/** The operations the UI performs: each is one control API call, as the CLI makes it. */
export const api = {
  share: async (path: string) => await call<ShareResult>('POST', '/shares', { path }),
  unshare: async (cid: string) => await call<unknown>('DELETE', `/shares/${enc(cid)}`),
  files: async (id: string) => await call<FilesResult>('GET', `/files/${enc(id)}?timeout=20`),
  fetch: async (id: string, options: { out?: string, only?: string[] }) => await call<TransferInfo>('POST', '/fetch', { id, detach: true, ...options }),
  pause: async (cid: string) => await call<TransferInfo>('POST', `/downloads/${enc(cid)}/pause`),
  resume: async (cid: string) => await call<TransferInfo>('POST', '/fetch', { id: cid, detach: true }),
  cancel: async (cid: string) => await call<unknown>('DELETE', `/downloads/${enc(cid)}`)
}

/** The live event stream (one per page). */
export const EVENTS_URL = `${BASE}/events`
