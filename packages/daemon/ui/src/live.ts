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
  /**
   * Downloads this page started and no list has shown yet: a small one can
   * start and complete between two lists, and would never show otherwise.
   */
  started: ReadonlyMap<string, TransferInfo>
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
      // started here: listed now (shown from the list from now on), or already done; one
      // never listed nor shared (cancelled elsewhere at once) is let go after STARTED_KEPT_MS
      const now = Date.now()
      const started = new Map([...state.started].filter(([cid]) => !listed.has(cid) && !shared.has(cid) && now - (startedAt.get(cid) ?? now) < STARTED_KEPT_MS))
      for (const cid of startedAt.keys()) if (!started.has(cid)) startedAt.delete(cid)
      for (const d of [...(state.ls?.downloads ?? []), ...state.started.values()]) {
        if (listed.has(d.cid) || !shared.has(d.cid)) continue
        finished = new Map(finished).set(d.cid, { ...d, state: 'done', received: d.size, chunksDone: d.chunks, rate: 0, peers: 0 })
      }
      return { ...state, finished, started, ls: { shares: e.shares, downloads: e.downloads } }
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

/** What the page's hooks give: the live state, a way to dismiss a finished download, and to say the page started one. */
export interface Live {
  state: LiveState
  dismiss: (cid: string) => void
  started: (info: TransferInfo) => void
}

/** The live state, from one EventSource opened for the page's life (it reconnects by itself). */
export function useLive (): Live {
  const [state, setState] = useState<LiveState>({ connected: false, maps: new Map(), finished: new Map(), started: new Map() })
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
  return {
    state,
    dismiss: (cid: string) => { setState(st => dismiss(st, cid)) },
    started: (info: TransferInfo) => { setState(st => started(st, info)) }
  }
}

/** The page started a download (the fetch call's answer): shown at once, whatever the next list says of it. */
export function started (state: LiveState, info: TransferInfo): LiveState {
  if (info.state === 'done') return { ...state, finished: new Map(state.finished).set(info.cid, info) }
  if (state.ls?.downloads.some(d => d.cid === info.cid) === true) return state
  startedAt.set(info.cid, Date.now())
  // (a card left from an earlier fetch of the same content makes way)
  const finished = new Map(state.finished)
  finished.delete(info.cid)
  return { ...state, finished, started: new Map(state.started).set(info.cid, info) }
}

/** When the page started each download it shows before any list did. */
const startedAt = new Map<string, number>()
/** How long such a download is shown while no list has it, as a download or as a share. */
const STARTED_KEPT_MS = 30_000

/** Forget a finished download (the page's "dismiss"). */
export function dismiss (state: LiveState, cid: string): LiveState {
  const finished = new Map(state.finished)
  finished.delete(cid)
  const maps = new Map(state.maps)
  maps.delete(cid)
  return { ...state, finished, maps }
}
