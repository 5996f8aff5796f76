import { ErrorCode, ShoalError, normalizeGlob } from '@shoal/protocol'
import type { ConnectRequest, FetchRequest, ShareRequest } from '@shoal/protocol'

// Request bodies of the control API, checked before any handler sees them:
// unknown fields, missing ones and wrong types are BAD_REQUEST (400).

type FieldType = 'string' | 'boolean' | 'number' | 'string[]'

/** Check a JSON object against the fields a route takes; unknown fields are an error. */
function parseObject (raw: unknown, fields: Record<string, { type: FieldType, required?: boolean }>): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ShoalError(ErrorCode.BAD_REQUEST, 'request body must be a JSON object')
  const obj = raw as Record<string, unknown>
  for (const key of Object.keys(obj)) {
    if (!(key in fields)) throw new ShoalError(ErrorCode.BAD_REQUEST, `unknown field "${key}"`)
  }
  for (const [key, spec] of Object.entries(fields)) {
    const value = obj[key]
    if (value === undefined) {
      if (spec.required === true) throw new ShoalError(ErrorCode.BAD_REQUEST, `missing field "${key}"`)
      continue
    }
    if (spec.type === 'string[]') {
      if (!Array.isArray(value) || value.length > 1024 || !value.every(v => typeof v === 'string' && v.length <= 16384)) throw new ShoalError(ErrorCode.BAD_REQUEST, `field "${key}" must be a list of at most 1024 strings`)
      continue
    }
    if (typeof value !== spec.type) throw new ShoalError(ErrorCode.BAD_REQUEST, `field "${key}" must be a ${spec.type}`)
    if (spec.type === 'string' && (value as string).length > 16384) throw new ShoalError(ErrorCode.BAD_REQUEST, `field "${key}" is too long`)
    if (spec.type === 'number' && (!Number.isFinite(value) || (value as number) < 0)) throw new ShoalError(ErrorCode.BAD_REQUEST, `field "${key}" must be a non-negative number`)
  }
  return obj
}

/** Body of POST /v1/shares. */
export function parseShare (raw: unknown): ShareRequest {
  return parseObject(raw, { path: { type: 'string', required: true } }) as unknown as ShareRequest
}

/** Body of POST /v1/connect. */
export function parseConnect (raw: unknown): ConnectRequest {
  return parseObject(raw, { addr: { type: 'string', required: true } }) as unknown as ConnectRequest
}

/** Most provider addresses a fetch may name (`--peer`). */
const MAX_PEER_HINTS = 64

/** Body of POST /v1/fetch. */
export function parseFetch (raw: unknown): FetchRequest {
  const body = parseObject(raw, { id: { type: 'string', required: true }, out: { type: 'string' }, cwd: { type: 'string' }, force: { type: 'boolean' }, timeout: { type: 'number' }, detach: { type: 'boolean' }, only: { type: 'string[]' }, peers: { type: 'string[]' } }) as unknown as FetchRequest
  if (body.cwd !== undefined && !body.cwd.startsWith('/')) throw new ShoalError(ErrorCode.BAD_REQUEST, 'field "cwd" must be an absolute path')
  if (body.only !== undefined) body.only.forEach(normalizeGlob) // a bad pattern is a 400 before anything starts
  if (body.peers !== undefined && body.peers.length > MAX_PEER_HINTS) throw new ShoalError(ErrorCode.BAD_REQUEST, `field "peers" holds at most ${MAX_PEER_HINTS} addresses`)
  return body
}
