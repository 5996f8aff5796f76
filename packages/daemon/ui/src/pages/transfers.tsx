/** Transfers: fetch by ticket or id (with a file picker), each download with its figures, actions and chunk map. */
import { useState } from 'preact/hooks'
import type { ChunkMap, FilesResult, TransferInfo } from '@shoal/protocol'
import { api } from '../api.js'
import { ChunkMapView, Legend } from '../chunk-map.js'
import { basename, bytes, duration, percent, rate, short } from '../format.js'
import { ActionButton } from '../widgets.js'

interface TransfersProps {
  downloads: TransferInfo[] | undefined
  /** Started from this page and not listed yet. */
  started: TransferInfo[]
  /** Completed while the page was open. */
  finished: TransferInfo[]
  maps: ReadonlyMap<string, ChunkMap>
  dismiss: (cid: string) => void
  /** The fetch form started a download. */
  onStarted: (info: TransferInfo) => void
}

export function TransfersPage ({ downloads, started, finished, maps, dismiss, onStarted }: TransfersProps) {
  const all = [...(downloads ?? []), ...started, ...finished]
  return (
    <section>
      <FetchForm onStarted={onStarted} />
      <h2>Transfers</h2>
      {downloads === undefined
        ? <p class="muted">loading…</p>
        : all.length === 0
          ? <p class="muted">No downloads. Paste a ticket above to fetch one.</p>
          : <><Legend />{all.map(d => <Transfer key={d.cid} d={d} map={maps.get(d.cid)} dismiss={dismiss} />)}</>}
    </section>
  )
}

function Transfer ({ d, map, dismiss }: { d: TransferInfo, map: ChunkMap | undefined, dismiss: (cid: string) => void }) {
  const left = d.size - d.received
  const eta = d.state === 'active' && d.rate > 0 ? duration(left / d.rate) : '—'
  return (
    <article class={`transfer ${d.state}`} data-cid={d.cid} data-state={d.state}>
      <header>
        <h3 title={d.path}>{basename(d.path)}</h3>
        <span class={`state ${d.state}`}>{d.state}</span>
        <span class="actions">
          {d.state === 'active' && <ActionButton name="pause" action={async () => await api.pause(d.cid)}>pause</ActionButton>}
          {(d.state === 'paused' || d.state === 'failed') && <ActionButton name="resume" action={async () => await api.resume(d.cid)}>resume</ActionButton>}
          {d.state === 'done' && <button type="button" data-action="dismiss" onClick={() => { dismiss(d.cid) }}>dismiss</button>}
          {d.state !== 'done' && <ActionButton name="cancel" kind="danger" action={async () => { if (confirm(`Cancel ${basename(d.path)} and delete what was fetched?`)) await api.cancel(d.cid) }}>cancel</ActionButton>}
        </span>
      </header>
      <progress max={Math.max(1, d.size)} value={d.received} />
      <dl class="figures">
        <div><dt>progress</dt><dd class="progress-text">{percent(d.received, d.size)} · {bytes(d.received)} of {bytes(d.size)}</dd></div>
        <div><dt>chunks</dt><dd>{d.chunksDone} / {d.chunks}</dd></div>
        <div><dt>rate</dt><dd>{rate(d.rate)}</dd></div>
        <div><dt>peers</dt><dd>{d.peers}</dd></div>
        <div><dt>ETA</dt><dd>{eta}</dd></div>
        <div><dt>id</dt><dd><code title={d.cid}>{short(d.cid, 8)}</code></dd></div>
      </dl>
      {d.error !== undefined && <p class="error">{d.error.message} [{d.error.code}]</p>}
      {map !== undefined && <ChunkMapView map={map} />}
    </article>
  )
}

function FetchForm ({ onStarted }: { onStarted: (info: TransferInfo) => void }) {
  const [id, setId] = useState('')
  const [out, setOut] = useState('')
  const [files, setFiles] = useState<FilesResult>()
  const [picked, setPicked] = useState<Set<string>>(new Set())
  const [busy, setBusy] = useState<string>()
  const [error, setError] = useState<string>()
  const [started, setStarted] = useState<string>()
  const guard = async (what: string, work: () => Promise<void>): Promise<void> => {
    setBusy(what)
    setError(undefined)
    setStarted(undefined)
    try { await work() } catch (err) { setError((err as Error).message) } finally { setBusy(undefined) }
  }
  const list = async (): Promise<void> => {
    const r = await api.files(id.trim())
    setFiles(r)
    setPicked(new Set(r.files.map(f => f.path)))
  }
  const start = async (): Promise<void> => {
    const all = files === undefined || files.kind === 'file' || picked.size === files.files.length
    // a picked path goes as a pattern: its glob characters each as a one-character class
    const only = all ? undefined : [...picked].map(p => p.replace(/[*?[\]{}]/g, c => `[${c}]`))
    if (only !== undefined && only.length === 0) throw new Error('pick at least one file')
    const info = await api.fetch(id.trim(), { ...(out.trim() !== '' ? { out: out.trim() } : {}), ...(only !== undefined ? { only } : {}) })
    onStarted(info)
    setStarted(`fetching into ${info.path}`)
    setId('')
    setFiles(undefined)
  }
  const toggle = (path: string): void => {
    const next = new Set(picked)
    if (next.has(path)) next.delete(path)
    else next.add(path)
    setPicked(next)
  }
  return (
    <form class="bar fetch" onSubmit={e => { e.preventDefault(); void guard('fetch', start) }}>
      <label for="fetch-id">Fetch by ticket or content id</label>
      <input id="fetch-id" name="id" placeholder="shoal1… or bafy…" value={id} onInput={e => { setId((e.target as HTMLInputElement).value); setFiles(undefined) }} required />
      <input id="fetch-out" name="out" placeholder="save to (absolute path; default: the daemon's directory)" value={out} onInput={e => { setOut((e.target as HTMLInputElement).value) }} />
      <button type="button" data-action="list-files" disabled={busy !== undefined || id.trim() === ''} onClick={() => { void guard('files', list) }}>{busy === 'files' ? 'asking…' : 'pick files'}</button>
      <button type="submit" data-action="fetch" disabled={busy !== undefined || id.trim() === ''}>{busy === 'fetch' ? 'starting…' : 'fetch'}</button>
      {started !== undefined && <span class="ok" role="status">{started}</span>}
      {error !== undefined && <span class="error" role="alert">{error}</span>}
      {files !== undefined && (
        <fieldset class="picker">
          <legend>{files.name}: {files.files.length} file(s), {bytes(files.size)} — fetch only the checked ones</legend>
          {files.files.map(f => (
            <label key={f.path} class="file">
              <input type="checkbox" name="only" value={f.path} checked={picked.has(f.path)} disabled={files.kind === 'file'} onChange={() => { toggle(f.path) }} />
              <span>{f.path === '' ? files.name : f.path}</span> <span class="muted">{bytes(f.size)}{f.held > 0 ? `, ${bytes(f.held)} held` : ''}</span>
            </label>
          ))}
        </fieldset>
      )}
    </form>
  )
}
