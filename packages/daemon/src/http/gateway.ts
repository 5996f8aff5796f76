import type { ComponentLogger } from '@libp2p/interface'
import { GATEWAY_STREAMS } from '../constants.js'
import type { Shoal } from '../shoal-types.js'
import { HttpServer } from './http-server.js'
import { Slots } from '../slots.js'
import { shoalGateway } from './gateway/shoal-gateway.js'
import type { HttpRoute } from './http-server.js'
import { sendLine } from './http-server.js'
import type { TrustlessGatewayHandler } from '../ipfs/trustless-gateway.js'
import { UiAuth } from './ui/ui-auth.js'
import { readUiFiles } from './ui/ui-assets.js'
import { uiRoutes } from './ui/ui-routes.js'
import type { ControlHandler } from './ui/ui-routes.js'

/** The web UI on the gateway's server (ui/). */
export interface GatewayUi {
  /** The repo's UI token. */
  token: string
  /** This node's cookie name (`uiCookieName`). */
  cookieName: string
  /** The control API's handler, once the node runs: the UI's API is the control API. */
  control: () => ControlHandler | undefined
  /** Where the built UI is. @default the daemon package's dist/ui/ */
  dir?: string
}

/** What the gateway serves besides `/shoal/`. */
export interface GatewayExtras {
  /** The IPFS trustless gateway's handler for `/ipfs/<cid>`, once the node runs. */
  ipfs?: () => TrustlessGatewayHandler | undefined
  /** The web UI at `/` and `/ui/`. */
  ui?: GatewayUi
}

/**
 * The local HTTP gateway on `listen` (HOST:PORT): the node's HTTP server
 * with its routes — `/shoal/<id>/<path>` (any share, fetched on demand),
 * `/ipfs/<cid>` (the IPFS trustless gateway over the blocks this node
 * holds), and the web UI at `/` and `/ui/`. Not started.
 */
export function createGateway (shoal: Pick<Shoal, 'files' | 'cat'>, listen: string, logger: ComponentLogger, extras: GatewayExtras = {}): HttpServer {
  const { ui } = extras
  const log = logger.forComponent('shoal:http:gateway')
  const at: { server?: HttpServer } = {}
  const origins = (): ReadonlySet<string> => {
    const url = at.server?.url
    if (url === undefined) return new Set()
    const port = new URL(url).port
    return new Set([url, `http://localhost:${port}`, `http://127.0.0.1:${port}`, `http://[::1]:${port}`])
  }
  const routes = [shoalGateway({ shoal, slots: new Slots(GATEWAY_STREAMS), origins, log })]
  if (extras.ipfs !== undefined) routes.push(trustlessRoute(extras.ipfs))
  if (ui !== undefined) {
    const files = readUiFiles(ui.dir)
    if (!files.has('index.html')) log.error('the web UI is not built (no index.html in %s): run `npm run build`', ui.dir ?? 'dist/ui')
    routes.push(...uiRoutes({ auth: new UiAuth(ui.token, ui.cookieName), files: () => files, control: ui.control, origins, log: logger.forComponent('shoal:ui') }))
  }
  const server = new HttpServer({ listen, name: 'gateway', logger, routes })
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
