/**
 * DNS rebinding protection: a request is served only when its `Host` names
 * this server — the address it is bound to, or a loopback name — with its
 * port. A web page on another name that resolves to 127.0.0.1 sends its
 * own name as `Host` and is refused. When bound to every interface
 * (0.0.0.0, ::), any IP literal is accepted too: a page cannot make a
 * browser send an IP literal as `Host` unless its own URL is that address.
 */
import net from 'node:net'

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]'])

/** True when `hostHeader` is an acceptable `Host` for a server bound to `boundHost`:`port`. */
export function hostAllowed (hostHeader: string | undefined, boundHost: string, port: number): boolean {
  if (hostHeader === undefined || hostHeader === '') return false
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostHeader.trim())
  if (match === null) return false
  const host = (match[1] as string).toLowerCase().replace(/\.$/, '')
  const given = match[2] === undefined ? 80 : Number(match[2])
  if (given !== port) return false
  const bound = boundHost.toLowerCase()
  const bracketed = net.isIPv6(bound) ? `[${bound}]` : bound
  if (host === bracketed || LOOPBACK_NAMES.has(host) || host.endsWith('.localhost')) return true
  const wildcard = bound === '0.0.0.0' || bound === '::' || bound === ''
  const literal = host.startsWith('[') ? net.isIPv6(host.slice(1, -1)) : net.isIPv4(host)
  return wildcard && literal
}
