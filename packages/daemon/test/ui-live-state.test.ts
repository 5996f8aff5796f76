/**
 * The web UI's live state, reduced from its event stream: a download the
 * page started shows at once, and stays shown (done) when it completes
 * between two lists and so is never listed as a download.
 */
import { describe, expect, it } from 'vitest'
import type { ShareInfo, TransferInfo } from '@shoal/protocol'
import { reduce, started } from '../ui/src/live.js'
import type { LiveState } from '../ui/src/live.js'

const empty: LiveState = { connected: true, maps: new Map(), finished: new Map(), started: new Map() }

function transfer (cid: string, state: TransferInfo['state'] = 'active'): TransferInfo {
  return { cid, state, path: `/out/${cid}`, size: 100, received: 10, chunks: 4, chunksDone: 1, rate: 0, peers: 1 } as unknown as TransferInfo
}

function share (cid: string): ShareInfo {
  return { cid, partial: true } as unknown as ShareInfo
}

describe('the UI live state', () => {
  it('keeps a download the page started through a stale list, and shows it done when it is already a share', () => {
    let state = reduce(empty, { type: 'ls', shares: [], downloads: [] })
    state = started(state, transfer('a'))
    expect([...state.started.keys()]).toEqual(['a'])
    // a list made before the fetch started: nothing changes
    state = reduce(state, { type: 'ls', shares: [], downloads: [] })
    expect([...state.started.keys()]).toEqual(['a'])
    // it started and completed between two lists: never listed as a download, now a (partial) share
    state = reduce(state, { type: 'ls', shares: [share('a')], downloads: [] })
    expect(state.started.size).toBe(0)
    expect(state.finished.get('a')?.state).toBe('done')
  })

  it('hands a started download over to the list once the list has it', () => {
    let state = started(reduce(empty, { type: 'ls', shares: [], downloads: [] }), transfer('b'))
    state = reduce(state, { type: 'ls', shares: [], downloads: [transfer('b')] })
    expect(state.started.size).toBe(0)
    expect(state.ls?.downloads.map(d => d.cid)).toEqual(['b'])
    expect(state.finished.size).toBe(0)
  })

  it('shows one card when the same content is fetched again while its last fetch is still shown done', () => {
    let state = started(reduce(empty, { type: 'ls', shares: [], downloads: [] }), transfer('d'))
    state = reduce(state, { type: 'ls', shares: [share('d')], downloads: [] })
    expect(state.finished.has('d')).toBe(true)
    state = started(state, transfer('d'))
    expect(state.finished.has('d')).toBe(false)
    expect([...state.started.keys()]).toEqual(['d'])
  })

  it('puts a download that was done when the fetch call answered among the finished at once', () => {
    const state = started(empty, transfer('c', 'done'))
    expect(state.started.size).toBe(0)
    expect(state.finished.get('c')?.state).toBe('done')
  })
})
