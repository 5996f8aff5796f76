/**
 * The Shoal web UI: four pages over one live event stream. Served by the
 * daemon (bundled by `npm run build`), it talks only to the daemon that
 * served it, through the control API under /ui/api/.
 */
import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { useLive } from './live.js'
import { rate, short } from './format.js'
import { SharesPage } from './pages/shares.js'
import { TransfersPage } from './pages/transfers.js'
import { PeersPage } from './pages/peers.js'
import { NodePage } from './pages/node.js'

const PAGES = ['transfers', 'shares', 'peers', 'node'] as const
type Page = typeof PAGES[number]

function pageOf (hash: string): Page {
  const name = hash.replace(/^#\/?/, '')
  return (PAGES as readonly string[]).includes(name) ? name as Page : 'transfers'
}

function App () {
  const { state: live, dismiss, started } = useLive()
  const [page, setPage] = useState<Page>(pageOf(location.hash))
  useEffect(() => {
    const onHash = (): void => { setPage(pageOf(location.hash)) }
    addEventListener('hashchange', onHash)
    return () => { removeEventListener('hashchange', onHash) }
  }, [])
  const s = live.status
  useEffect(() => { document.title = s === undefined ? 'Shoal' : `Shoal · ${short(s.peerId, 6)} · ↓ ${rate(s.downloadRate)} ↑ ${rate(s.uploadRate)}` }, [s])
  const counts: Record<Page, number | undefined> = { transfers: live.ls?.downloads.length, shares: live.ls?.shares.length, peers: live.peers?.length, node: undefined }
  return (
    <>
      <header class="top">
        <h1>Shoal</h1>
        <nav>
          {PAGES.map(p => (
            <a key={p} href={`#/${p}`} class={p === page ? 'current' : ''} data-page={p}>{p}{counts[p] !== undefined ? <span class="count">{counts[p]}</span> : null}</a>
          ))}
        </nav>
        <span class="rates" title="chunk traffic of this node, last 3 s">{s !== undefined ? `↓ ${rate(s.downloadRate)} ↑ ${rate(s.uploadRate)}` : ''}</span>
        <span class={`live ${live.connected ? 'on' : 'off'}`} id="live" title={live.connected ? 'live: updates stream from the daemon' : 'not connected to the daemon'}>{live.connected ? 'live' : 'offline'}</span>
      </header>
      <main data-page={page}>
        {page === 'shares' && <SharesPage shares={live.ls?.shares} />}
        {page === 'transfers' && <TransfersPage downloads={live.ls?.downloads} started={[...live.started.values()]} finished={[...live.finished.values()]} maps={live.maps} dismiss={dismiss} onStarted={started} />}
        {page === 'peers' && <PeersPage peers={live.peers} />}
        {page === 'node' && <NodePage status={s} />}
      </main>
    </>
  )
}

// the token was for this one visit: the cookie holds it now, keep it out of the address bar and history
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', `/${location.hash}`)
const root = document.getElementById('app')
if (root !== null) render(<App />, root)
