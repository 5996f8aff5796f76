/**
 * The UI's state, kept from `/ui/api/v1/events` alone: one EventSource for
 * the page, no polling. Chunk maps arrive whole once, then as changed cells.
 */
import { useEffect, useState } from 'preact/hooks'
import type { ChunkMap, ListResult, LiveEvent, PeerInfo, StatusInfo } from '@shoal/protocol'
import { EVENTS_URL } from './api.js'

export interface LiveState {
  connected: boolean
  status?: StatusInfo
  ls?: ListResult
  peers?: PeerInfo[]
  maps: ReadonlyMap<string, ChunkMap>
}

/** Apply one event to the state. */
export function reduce (state: LiveState, e: LiveEvent): LiveState {
  switch (e.type) {
    case 'status': return { ...state, status: e.status }
    case 'ls': return { ...state, ls: { shares: e.shares, downloads: e.downloads } }
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
      const maps = new Map(state.maps)
      maps.delete(e.cid)
      return { ...state, maps }
    }
  }
}

const TYPES: Array<LiveEvent['type']> = ['status', 'ls', 'peers', 'chunks', 'chunks-delta', 'chunks-gone']

/** The live state, from one EventSource opened for the page's life (it reconnects by itself). */
export function useLive (): LiveState {
  const [state, setState] = useState<LiveState>({ connected: false, maps: new Map() })
  useEffect(() => {
    const source = new EventSource(EVENTS_URL)
    source.onopen = () => { setState(s => ({ ...s, connected: true })) }
    source.onerror = () => { setState(s => ({ ...s, connected: false })) }
    for (const type of TYPES) {
      source.addEventListener(type, (msg: MessageEvent<string>) => {
        const e = JSON.parse(msg.data) as LiveEvent
        setState(s => reduce(s, e))
      })
    }
    return () => { source.close() }
  }, [])
  return state
}
