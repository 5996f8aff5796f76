/**
 * The UI's state, kept from `/ui/api/v1/events` alone: one EventSource for
 * the page, no polling. Chunk maps arrive whole once, then as changed cells.
 */
import { useEffect, useState } from 'preact/hooks'
import type { ChunkMap, ListResult, LiveEvent, PeerInfo, StatusInfo, TransferInfo } from '@shoal/protocol'
import { EVENTS_URL } from './api.js'

export interface LiveState {
  connected: boolean
  status?: StatusInfo
  ls?: ListResult
  peers?: PeerInfo[]
  maps: ReadonlyMap<string, ChunkMap>
  /** Downloads that completed while the page was open (now shares), shown until dismissed. */
  finished: ReadonlyMap<string, TransferInfo>
}

/** Apply one event to the state. */
export function reduce (state: LiveState, e: LiveEvent): LiveState {
  switch (e.type) {
    case 'status': return { ...state, status: e.status }
    case 'ls': {
      // a download that left the list and is now a share completed: keep showing it, done
      const shared = new Set(e.shares.map(sh => sh.cid))
      const listed = new Set(e.downloads.map(d => d.cid))
      let finished = state.finished
      if ([...finished.keys()].some(cid => listed.has(cid))) finished = new Map([...finished].filter(([cid]) => !listed.has(cid)))
      for (const d of state.ls?.downloads ?? []) {
        if (listed.has(d.cid) || !shared.has(d.cid)) continue
        finished = new Map(finished).set(d.cid, { ...d, state: 'done', received: d.size, chunksDone: d.chunks, rate: 0, peers: 0 })
      }
      return { ...state, finished, ls: { shares: e.shares, downloads: e.downloads } }
    }
    case 'peers': return { ...state, peers: e.peers }
    case 'chunks': return { ...state, maps: new Map(state.maps).set(e.map.cid, e.map) }
    case 'chunks-delta': {
      const before = state.maps.get(e.cid)
      if (before === undefined) return state
      const cells = before.cells.slice()
      for (const [i, cell] of e.cells) cells[i] = cell
      return { ...state, maps: new Map(state.maps).set(e.cid, { ...before, cells, peers: e.peers, running: e.running }) }
    }
    case 'chunks-gone': {
      if (state.finished.has(e.cid)) return state // its last map (all held) stays with it
      const maps = new Map(state.maps)
      maps.delete(e.cid)
      return { ...state, maps }
    }
  }
}

/** Events arriving within this many ms are drawn together. */
const BATCH_MS = 40

const TYPES: Array<LiveEvent['type']> = ['status', 'ls', 'peers', 'chunks', 'chunks-delta', 'chunks-gone']

/** The live state, from one EventSource opened for the page's life (it reconnects by itself), and a way to dismiss a finished download. */
export function useLive (): [LiveState, (cid: string) => void] {
  const [state, setState] = useState<LiveState>({ connected: false, maps: new Map(), finished: new Map() })
  useEffect(() => {
    const source = new EventSource(EVENTS_URL)
    source.onopen = () => { setState(s => ({ ...s, connected: true })) }
    source.onerror = () => { setState(s => ({ ...s, connected: false })) }
    // events come in bursts (status, list, peers, maps): apply each burst in one render
    let pending: LiveEvent[] = []
    let timer: ReturnType<typeof setTimeout> | undefined
    const flush = (): void => {
      const batch = pending
      pending = []
      timer = undefined
      setState(s => batch.reduce(reduce, s))
    }
    for (const type of TYPES) {
      source.addEventListener(type, (msg: MessageEvent<string>) => {
        pending.push(JSON.parse(msg.data) as LiveEvent)
        timer ??= setTimeout(flush, BATCH_MS)
      })
    }
    return () => { source.close(); clearTimeout(timer) }
  }, [])
  return [state, (cid: string) => { setState(st => dismiss(st, cid)) }]
}

/** Forget a finished download (the page's "dismiss"). */
export function dismiss (state: LiveState, cid: string): LiveState {
  const finished = new Map(state.finished)
  finished.delete(cid)
  const maps = new Map(state.maps)
  maps.delete(cid)
  return { ...state, finished, maps }
}
