/** Shares: what this node serves, with ids and tickets to copy; share a path, unshare. */
import { useState } from 'preact/hooks'
import type { ShareInfo } from '@shoal/protocol'
import { api } from '../api.js'
import { bytes, short } from '../format.js'
import { ActionButton, CopyButton } from '../widgets.js'

export function SharesPage ({ shares }: { shares: ShareInfo[] | undefined }) {
  return (
    <section>
      <ShareForm />
      <h2>Shares</h2>
      {shares === undefined
        ? <p class="muted">loading…</p>
        : shares.length === 0
          ? <p class="muted">Nothing shared yet.</p>
          : (
            <table class="shares">
              <thead><tr><th>name</th><th class="num">size</th><th class="num">files</th><th>content id</th><th>ticket</th><th /></tr></thead>
              <tbody>{shares.map(s => <ShareRow key={s.cid} share={s} />)}</tbody>
            </table>
            )}
    </section>
  )
}

function ShareRow ({ share: s }: { share: ShareInfo }) {
  return (
    <tr data-cid={s.cid}>
      <td>
        <span class="name" title={s.path}>{s.name}</span>
        {s.stale && <span class="badge stale" title="the file changed on disk since it was shared: no longer served">stale</span>}
        {s.partial && <span class="badge" title="this node holds only part of it">partial {bytes(s.held)}</span>}
        {s.origin === 'fetched' && !s.partial && <span class="badge muted">fetched</span>}
      </td>
      <td class="num">{bytes(s.size)}</td>
      <td class="num">{s.files}</td>
      <td><code title={s.cid}>{short(s.cid, 8)}</code> <CopyButton text={s.cid} label="id" /></td>
      <td>{s.ticket !== undefined && <CopyButton text={s.ticket} label="ticket" />}</td>
      <td><ActionButton name="unshare" kind="danger" action={async () => { if (confirm(`Stop sharing ${s.name}? Its files stay on disk.`)) await api.unshare(s.cid) }}>unshare</ActionButton></td>
    </tr>
  )
}

function ShareForm () {
  const [path, setPath] = useState('')
  const [result, setResult] = useState<string>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setResult(undefined)
    try {
      const r = await api.share(path.trim())
      setResult(`shared ${r.name} (${bytes(r.size)}, ${r.chunks} chunks)${r.skipped.count > 0 ? `; ${r.skipped.count} entries skipped` : ''}`)
      setPath('')
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class="bar" onSubmit={e => { void submit(e) }}>
      <label for="share-path">Share a file or directory on the daemon's machine</label>
      <input id="share-path" name="path" placeholder="/home/me/videos/talk.mp4" value={path} onInput={e => { setPath((e.target as HTMLInputElement).value) }} required />
      <button type="submit" disabled={busy || path.trim() === ''}>{busy ? 'hashing…' : 'share'}</button>
      {result !== undefined && <span class="ok" role="status">{result}</span>}
      {error !== undefined && <span class="error" role="alert">{error}</span>}
    </form>
  )
}
