import type { ComponentLogger } from '@libp2p/interface'
import { GATEWAY_STREAMS } from '../constants.js'
import type { Shoal } from '../shoal-types.js'
import { HttpServer } from './http-server.js'
import { StreamSlots } from './stream-slots.js'
import { shoalGateway } from './gateway/shoal-gateway.js'
import type { HttpRoute } from './http-server.js'
import { sendLine } from './http-server.js'
import type { TrustlessGatewayHandler } from '../ipfs/trustless-gateway.js'

/**
 * The local HTTP gateway on `listen` (HOST:PORT): the node's HTTP server
 * with its routes — `/shoal/<id>/<path>` (any share, fetched on demand) and
 * `/ipfs/<cid>` (the IPFS trustless gateway over the blocks this node
 * holds; `ipfs` gives its handler once the node runs). Not started.
 */
export function createGateway (shoal: Pick<Shoal, 'files' | 'cat'>, listen: string, logger: ComponentLogger, ipfs: () => TrustlessGatewayHandler | undefined): HttpServer {
  const log = logger.forComponent('shoal:http:gateway')
  const at: { server?: HttpServer } = {}
  const origins = (): ReadonlySet<string> => {
    const url = at.server?.url
    if (url === undefined) return new Set()
    const port = new URL(url).port
    return new Set([url, `http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`])
  }
  const server = new HttpServer({
    listen,
    name: 'gateway',
    logger,
    routes: [shoalGateway({ shoal, slots: new StreamSlots(GATEWAY_STREAMS), origins, log }), trustlessRoute(ipfs)]
  })
  at.server = server
  return server
}

/** `/ipfs/<cid>?format=raw|car`: only blocks this node holds, so it never fetches for anyone (cross-site included). */
function trustlessRoute (ipfs: () => TrustlessGatewayHandler | undefined): HttpRoute {
  return {
    prefix: '/ipfs/',
    methods: ['GET', 'HEAD'],
    handle: async (req, res) => {
      const handler = ipfs()
      if (handler === undefined) { sendLine(res, 503, 'the node is starting or stopping'); return }
      if (!(await handler(req, res))) sendLine(res, 404, 'not found')
    }
  }
}
