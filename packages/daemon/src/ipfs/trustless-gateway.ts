/**
 * The IPFS trustless gateway (ipfs/specs, http-gateways/trustless-gateway)
 * over this node's blocks, as a request handler for a `node:http` server:
 * `GET|HEAD /ipfs/<cid>?format=raw` (or `Accept: application/vnd.ipld.raw`)
 * answers one block, `?format=car` (or `Accept: application/vnd.ipld.car`)
 * a CAR v1 of the DAG under the CID, depth first, each block once
 * (`dag-scope` all, entity or block). Only what this node holds is served,
 * every block verified as it is read; nothing is fetched on a request's
 * behalf. Read-only; paths below the CID are not resolved (a client asks by
 * CID, as Helia's trustless-gateway client does).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { CarWriter } from '@ipld/car/writer'
import type { CID } from 'multiformats/cid'
import { DAG_PB_CODE, parseIpfsCid } from '@shoal/protocol'
import type { Logger } from '@libp2p/interface'
import { IPFS_MAX_DAG_NODES } from '../constants.js'
import { keyOf } from './block-store.js'
import type { IpfsBlockStore } from './block-store.js'
import { decodeUnixfs } from './fetch/unixfs-node.js'

/** Media types of the trustless gateway. */
export const RAW_MEDIA_TYPE = 'application/vnd.ipld.raw'
export const CAR_MEDIA_TYPE = 'application/vnd.ipld.car'

export interface TrustlessGatewayComponents {
  store: Pick<IpfsBlockStore, 'get' | 'has'>
  log: Logger
}

/** Answers a request when its path is `/ipfs/...` (true), else leaves it to the caller (false). */
export type TrustlessGatewayHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>

/** Make the handler; plug it into the gateway's HTTP server before its own routes. */
export function trustlessGateway (c: TrustlessGatewayComponents): TrustlessGatewayHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid')
    if (!url.pathname.startsWith('/ipfs/')) return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, 'only GET and HEAD', { allow: 'GET, HEAD' })
      return true
    }
    const rest = url.pathname.slice('/ipfs/'.length)
    const [text = '', ...path] = rest.split('/').filter(s => s !== '')
    // one parse: a CID isIpfsId takes but parseIpfsCid refuses (another hash), or a bad % escape, was a 500
    let cid: CID
    try {
      cid = parseIpfsCid(decodeURIComponent(text))
    } catch {
      reply(res, 400, 'not a UnixFS CID (raw or dag-pb, sha2-256)')
      return true
    }
    if (path.length > 0) { reply(res, 400, 'paths are not resolved here: ask for the CID of the block or DAG itself'); return true }
    const format = formatOf(url, req.headers.accept)
    if (format === undefined) { reply(res, 406, `ask for ${RAW_MEDIA_TYPE} or ${CAR_MEDIA_TYPE} (?format=raw or ?format=car)`); return true }
    if (!c.store.has(cid)) { reply(res, 404, `${cid.toString()} is not held by this node`); return true }
    if (format === 'raw') await sendRaw(c, cid, req, res)
    else await sendCar(c, cid, url.searchParams.get('dag-scope') ?? 'all', req, res)
    return true
  }
}

function formatOf (url: URL, accept: string | undefined): 'raw' | 'car' | undefined {
  const asked = url.searchParams.get('format')
  if (asked === 'raw' || asked === 'car') return asked
  if (asked !== null) return undefined
  for (const part of (accept ?? '').split(',')) {
    const type = part.split(';')[0]?.trim()
    if (type === RAW_MEDIA_TYPE) return 'raw'
    if (type === CAR_MEDIA_TYPE) return 'car'
  }
  return undefined
}

const IMMUTABLE = 'public, max-age=29030400, immutable'

async function sendRaw (c: TrustlessGatewayComponents, cid: CID, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const bytes = await c.store.get(cid)
  if (bytes === undefined) { reply(res, 404, `${cid.toString()} is not held by this node`); return }
  res.writeHead(200, {
    'content-type': RAW_MEDIA_TYPE,
    'content-length': bytes.byteLength,
    'cache-control': IMMUTABLE,
    etag: `"${cid.toString()}.raw"`,
    'x-content-type-options': 'nosniff',
    'x-ipfs-roots': cid.toString(),
    vary: 'Accept'
  })
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

async function sendCar (c: TrustlessGatewayComponents, root: CID, scope: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (scope !== 'all' && scope !== 'entity' && scope !== 'block') { reply(res, 400, `dag-scope ${scope} is not all, entity or block`); return }
  res.writeHead(200, {
    'content-type': `${CAR_MEDIA_TYPE}; version=1; order=dfs; dups=n`,
    'cache-control': IMMUTABLE,
    etag: `"${root.toString()}.car.${scope}"`,
    'x-content-type-options': 'nosniff',
    'x-ipfs-roots': root.toString(),
    vary: 'Accept'
  })
  if (req.method === 'HEAD') { res.end(); return }
  const { writer, out } = CarWriter.create([root])
  const pump = (async () => {
    for await (const bytes of out) {
      if (res.destroyed) return
      if (!res.write(bytes)) await new Promise<void>(resolve => { res.once('drain', resolve); res.once('close', resolve) })
    }
  })()
  try {
    const seen = new Set<string>()
    // depth first, each block once; a DAG past IPFS_MAX_DAG_NODES is cut off
    const visit = async (cid: CID, depth: number, withChildren: boolean): Promise<void> => {
      const key = keyOf(cid)
      if (seen.has(key) || seen.size >= IPFS_MAX_DAG_NODES || res.destroyed) return
      seen.add(key)
      const bytes = await c.store.get(cid)
      if (bytes === undefined) throw new Error(`${cid.toString()} is missing under ${root.toString()}`)
      await writer.put({ cid, bytes })
      if (!withChildren || cid.code !== DAG_PB_CODE) return
      const node = decodeUnixfs(cid, bytes)
      const children = node.kind === 'file' ? node.parts.map(p => ({ cid: p.cid, shard: false })) : node.kind === 'dir' || node.kind === 'hamt' ? node.links.map(l => ({ cid: l.cid, shard: l.name === undefined })) : []
      for (const child of children) {
        // entity: a file whole, a directory's own nodes (HAMT shards) but not its entries
        const entityOnly = scope === 'entity' && (node.kind === 'dir' || node.kind === 'hamt')
        if (entityOnly && !child.shard) continue
        await visit(child.cid, depth + 1, true)
      }
    }
    await visit(root, 0, scope !== 'block')
    await writer.close()
    await pump
    res.end()
  } catch (err) {
    // the status is sent: cut the response short so the client sees a truncated CAR
    c.log('CAR of %c failed: %e', root, err)
    res.destroy()
    await writer.close().catch(() => {})
  }
}

function reply (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message } })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers })
  res.end(body)
}
