import type { ComponentLogger } from '@libp2p/interface'
import { GATEWAY_STREAMS } from '../constants.js'
import type { Shoal } from '../shoal-types.js'
import { HttpServer } from './http-server.js'
import { StreamSlots } from './stream-slots.js'
import { shoalGateway } from './gateway/shoal-gateway.js'

/**
 * The local HTTP gateway on `listen` (HOST:PORT): the node's HTTP server
 * with its routes — `/shoal/<id>/<path>` for now. Not started.
 */
export function createGateway (shoal: Pick<Shoal, 'files' | 'cat'>, listen: string, logger: ComponentLogger): HttpServer {
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
    routes: [shoalGateway({ shoal, slots: new StreamSlots(GATEWAY_STREAMS), origins, log })]
  })
  at.server = server
  return server
}
