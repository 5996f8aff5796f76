/**
 * `GET /v1/events`: what the web UI shows, live, as Server-Sent Events
 * (LiveEvent in @shoal/protocol). One `LiveFeed` per node samples the same
 * operations the CLI uses — `status`, `list`, `peers`, and `chunkMap` of
 * each download — only while someone listens: every second for the first
 * three, every 250 ms for the chunk maps of running downloads. Each
 * listener gets an event only when what it was last sent changed; a chunk
 * map goes whole once, then as the cells that changed. A listener that
 * does not read keeps its last-sent state, so nothing is lost when it
 * catches up, and at most `MAX_QUEUED_BYTES` wait for it.
 */
import type http from 'node:http'
import type { Logger } from '@libp2p/interface'
import type { ChunkCell, ChunkMap, LiveEvent, TransferInfo } from '@shoal/protocol'
import type { Shoal } from '../shoal-types.js'

/** Status, list and peers sampled this often (ms). */
export const LIVE_SLOW_MS = 1000
/** Chunk maps of running downloads sampled this often (ms): at most 4 updates a second. */
export const LIVE_FAST_MS = 250
/** A comment line this often keeps proxies and idle timeouts from closing the stream (ms). */
const KEEPALIVE_MS = 15_000
/** The key of a map sent one last time before its download goes. */
const LEAVING = 'leaving'
/** Past this many bytes queued for a listener, it is skipped until it reads. */
const MAX_QUEUED_BYTES = 1024 * 1024

/** One listener: how to send it an event, and what it was sent last. */
interface Listener {
  send: (event: LiveEvent) => void
  /** An event already in JSON (the samples are kept as text, to compare them). */
  sendText: (type: string, json: string) => void
  backedUp: () => boolean
  sent: { status?: string, ls?: string, peers?: string }
  maps: Map<string, ChunkMap>
}

/** The samples (see the module comment). */
export class LiveFeed {
  private readonly listeners = new Set<Listener>()
  private slow?: NodeJS.Timeout
  private fast?: NodeJS.Timeout
  private sampling = false
  private latest: { status?: string, ls?: string, peers?: string } = {}
  private downloads: TransferInfo[] = []
  /** Chunk maps by cid, with what they were sampled for (a download's state and bytes held). */
  private readonly maps = new Map<string, { map: ChunkMap, key: string }>()

  constructor (private readonly shoal: Pick<Shoal, 'status' | 'list' | 'peers' | 'chunkMap'>, private readonly log: Logger) {}

  /** Stream events to `res` until it closes. */
  serve (req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' })
    res.write('retry: 2000\n\n')
    const listener: Listener = {
      send: e => { listener.sendText(e.type, JSON.stringify(e)) },
      sendText: (type, json) => { res.write(`event: ${type}\ndata: ${json}\n\n`) },
      backedUp: () => res.writableLength > MAX_QUEUED_BYTES || res.destroyed,
      sent: {},
      maps: new Map()
    }
    const keepalive = setInterval(() => { res.write(': keepalive\n\n') }, KEEPALIVE_MS)
    res.once('close', () => { clearInterval(keepalive); this.remove(listener) })
    req.socket.setNoDelay(true)
    this.add(listener)
  }

  /** Stop sampling (the daemon stops). */
  stop (): void {
    this.listeners.clear()
    this.stopTimers()
  }

  private add (listener: Listener): void {
    this.listeners.add(listener)
    if (this.slow === undefined) {
      this.slow = setInterval(() => { void this.sample(false) }, LIVE_SLOW_MS)
      this.fast = setInterval(() => { void this.sample(true) }, LIVE_FAST_MS)
      this.slow.unref()
      this.fast.unref()
      void this.sample(false)
    } else {
      this.deliver(listener)
    }
  }

  private remove (listener: Listener): void {
    this.listeners.delete(listener)
    if (this.listeners.size === 0) {
      this.stopTimers()
      this.latest = {}
      this.maps.clear()
    }
  }

  private stopTimers (): void {
    clearInterval(this.slow)
    clearInterval(this.fast)
    this.slow = this.fast = undefined
  }

  /** Take the samples due (chunk maps only, or everything), then tell every listener what changed. */
  private async sample (fastOnly: boolean): Promise<void> {
    if (this.sampling) return // a slow sample still runs: skip this turn
    this.sampling = true
    try {
      if (!fastOnly) {
        const [status, list, peers] = await Promise.all([this.shoal.status(), this.shoal.list(), this.shoal.peers()])
        this.latest = { status: JSON.stringify({ type: 'status', status }), ls: JSON.stringify({ type: 'ls', ...list }), peers: JSON.stringify({ type: 'peers', peers }) }
        this.downloads = list.downloads
      }
      await this.sampleMaps(fastOnly)
      for (const l of this.listeners) this.deliver(l)
    } catch (err) {
      this.log('live sample failed: %e', err)
    } finally {
      this.sampling = false
    }
  }

  /**
   * Running downloads every time; the others when their state or bytes held
   * changed. A download no longer listed gets one last map (a completed one
   * is now a share: every chunk held), then goes (`chunks-gone`).
   */
  private async sampleMaps (fastOnly: boolean): Promise<void> {
    const listed = new Set(this.downloads.map(d => d.cid))
    for (const [cid, entry] of [...this.maps]) {
      if (listed.has(cid)) continue
      if (entry.key === LEAVING) { this.maps.delete(cid); continue }
      try {
        this.maps.set(cid, { map: await this.shoal.chunkMap(cid), key: LEAVING })
      } catch {
        this.maps.delete(cid) // cancelled: nothing left to show
      }
    }
    for (const d of this.downloads) {
      const running = d.state === 'active'
      const key = `${d.state} ${d.chunksDone}`
      if (!running && (fastOnly || this.maps.get(d.cid)?.key === key)) continue
      try {
        this.maps.set(d.cid, { map: await this.shoal.chunkMap(d.cid), key })
      } catch {
        // finished or cancelled since it was listed: gone at the next list
      }
    }
  }

  private deliver (l: Listener): void {
    if (l.backedUp()) return
    for (const topic of ['status', 'ls', 'peers'] as const) {
      const text = this.latest[topic]
      if (text === undefined || l.sent[topic] === text) continue
      l.sent[topic] = text
      l.sendText(topic, text)
    }
    for (const [cid, { map }] of this.maps) {
      const before = l.maps.get(cid)
      l.maps.set(cid, map)
      if (before === undefined || before.chunks !== map.chunks) { l.send({ type: 'chunks', map }); continue }
      const cells = changedCells(before, map)
      if (cells.length > 0 || before.running !== map.running || before.peers.length !== map.peers.length) {
        l.send({ type: 'chunks-delta', cid, running: map.running, peers: map.peers, cells })
      }
    }
    for (const cid of [...l.maps.keys()]) {
      if (this.maps.has(cid)) continue
      l.maps.delete(cid)
      l.send({ type: 'chunks-gone', cid })
    }
  }
}

/** The cells of `after` that differ from `before`, with their index. */
export function changedCells (before: ChunkMap, after: ChunkMap): Array<[number, ChunkCell]> {
  const out: Array<[number, ChunkCell]> = []
  after.cells.forEach((cell, i) => {
    const old = before.cells[i]
    if (old === undefined || !sameCell(old, cell)) out.push([i, cell])
  })
  return out
}

function sameCell (a: ChunkCell, b: ChunkCell): boolean {
  if (a.held !== b.held || a.inFlight !== b.inFlight || a.wanted !== b.wanted || a.from.length !== b.from.length) return false
  return a.from.every(([p, n], i) => b.from[i]?.[0] === p && b.from[i]?.[1] === n)
}
