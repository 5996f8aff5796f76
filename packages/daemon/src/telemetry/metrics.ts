import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { PrometheusMetricsComponents } from '@libp2p/prometheus-metrics'
import type { Metrics } from '@libp2p/interface'
import { ErrorCode, ShoalError } from '@shoal/protocol'
import { Counter, Gauge, Registry, register as globalRegistry } from 'prom-client'
import type { Metric } from 'prom-client'
import { METRICS_REQUEST_TIMEOUT_MS } from '../constants.js'
import type { PeerTraffic } from './traffic.js'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { bindFailure, parseHostPort } from '../host-port.js'

/**
 * @libp2p/prometheus-metrics keeps one process-wide table of the metrics it
 * created, reset when a node's metrics service is created, and reuses an entry
 * by name. A node that registers metrics at start (the TCP listener's) while
 * another node is being created would put them in that node's registry. So
 * nodes with metrics take turns from creating libp2p to having started it.
 */
let libp2pTurn: Promise<void> = Promise.resolve()

/** What Shoal's own metrics read, at scrape time only. */
export interface MetricsComponents {
  traffic: {
    readonly chunksVerified: number
    readonly chunksRejected: number
    peers(): Iterable<[string, PeerTraffic]>
  }
  /** Downloads running now. */
  activeTransfers(): number
  /** Shares this node holds (shared and fetched). */
  shares(): number
  logger: ComponentLogger
}

export interface MetricsInit {
  /** "host:port" to serve `GET /metrics` on; port 0 picks a free port. */
  listen: string
  /** Where libp2p's `nodejs_fs_usage_bytes` measures the filesystem. @default process.cwd() */
  statfsLocation?: string
}

/**
 * The opt-in Prometheus endpoint: one registry per node, holding libp2p's
 * metrics (pass {@link ShoalMetrics.libp2p} to createLibp2p) and Shoal's own,
 * served as text on `GET /metrics`. Shoal's metrics are computed when scraped
 * from counters the daemon keeps anyway, so they cost nothing in between.
 */
export class ShoalMetrics {
  readonly registry = new Registry()
  private readonly init: MetricsInit
  private server?: http.Server
  private address?: string
  private endTurn?: () => void
  private readonly log: Logger

  constructor (components: MetricsComponents, init: MetricsInit) {
    this.init = init
    this.log = components.logger.forComponent('shoal:metrics')
    registerShoalMetrics(this.registry, components)
  }

  /**
   * libp2p's metrics service (`@libp2p/prometheus-metrics`) writing into this
   * node's registry, so two nodes in one process do not collide.
   */
  readonly libp2p = (components: PrometheusMetricsComponents): Metrics => {
    // creating it empties prom-client's global registry (and the package's
    // process-wide metric table, which is what lets this node register its
    // own): put back whatever an embedding program had registered there
    const saved = globalRegistry.getMetricsAsArray()
    const metrics = prometheusMetrics({ registry: this.registry, ...(this.init.statfsLocation !== undefined ? { statfsLocation: this.init.statfsLocation } : {}) })(components)
    for (const m of saved) if (globalRegistry.getSingleMetric(m.name) === undefined) globalRegistry.registerMetric(m as unknown as Metric)
    return metrics
  }

  /** The scrape URL, e.g. http://127.0.0.1:9464/metrics; undefined until started. */
  get url (): string | undefined {
    return this.address
  }

  /**
   * Listen on `init.listen` (INVALID_ADDRESS naming it when that fails), then
   * wait for this node's turn to create and start libp2p: call
   * {@link libp2pStarted} once it has started (stop() ends the turn too).
   */
  async start (): Promise<void> {
    if (this.server !== undefined) return
    const { host, port } = parseHostPort(this.init.listen, 'metrics address', '127.0.0.1:9464')
    const server = http.createServer({ requestTimeout: METRICS_REQUEST_TIMEOUT_MS, headersTimeout: METRICS_REQUEST_TIMEOUT_MS }, (req, res) => { void this.serve(req, res) })
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen({ host, port }, () => { server.off('error', reject); resolve() })
      })
    } catch (err) {
      throw new ShoalError(ErrorCode.INVALID_ADDRESS, `cannot serve metrics on ${this.init.listen}: ${bindFailure(err)}`, { cause: err })
    }
    server.on('error', err => { this.log.error('metrics server: %e', err) })
    this.server = server
    const bound = (server.address() as AddressInfo).port
    this.address = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`
    this.log('serving metrics on %s', this.address)
    const previous = libp2pTurn
    libp2pTurn = new Promise(resolve => { this.endTurn = resolve })
    await previous
  }

  /** libp2p has started: the next node may create its own. */
  libp2pStarted (): void {
    this.endTurn?.()
    this.endTurn = undefined
  }

  async stop (): Promise<void> {
    this.libp2pStarted()
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    this.address = undefined
    const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
    server.closeAllConnections()
    await closed
  }

  private async serve (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('use GET\n')
      return
    }
    try {
      const body = await this.registry.metrics()
      res.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(body) })
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (err) {
      this.log.error('collecting metrics: %e', err)
      res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot collect metrics\n')
    }
  }
}

/** Shoal's own metrics; each reads its value when scraped. Names and meanings: ARCHITECTURE.md "Metrics". */
function registerShoalMetrics (registry: Registry, { traffic, activeTransfers, shares }: MetricsComponents): void {
  // each metric registers itself in `registers`: nothing keeps a reference
  const registers = [registry]
  const perPeer = (name: string, help: string, pick: (t: PeerTraffic) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const [peer, t] of traffic.peers()) if (pick(t) > 0) this.inc({ peer }, pick(t))
      }
    })
  }
  perPeer('shoal_uploaded_bytes_total', 'Chunk payload bytes sent to each peer since the daemon started', t => t.uploaded)
  perPeer('shoal_downloaded_bytes_total', 'Verified chunk payload bytes received from each peer since the daemon started', t => t.downloaded)
  const total = (name: string, help: string, read: () => number): void => {
    new Counter({ name, help, registers, collect () { this.reset(); this.inc(read()) } })
  }
  total('shoal_chunks_verified_total', 'Chunks received from peers that matched their hash', () => traffic.chunksVerified)
  total('shoal_chunks_rejected_total', 'Chunks received from peers that failed their hash (the peer is banned)', () => traffic.chunksRejected)
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers, collect () { this.set(read()) } })
  }
  gauge('shoal_active_transfers', 'Downloads running now', activeTransfers)
  gauge('shoal_shares', 'Shares this node holds, shared and fetched', shares)
}
