/** Small shared pieces: copy button, action button with its error, a labelled value. */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'

/** Copies `text` (the clipboard API on a secure origin such as 127.0.0.1, else a hidden text field). */
export function CopyButton ({ text, label }: { text: string, label: string }) {
  const [done, setDone] = useState(false)
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text)
    } catch {
      const area = document.createElement('textarea')
      area.value = text
      document.body.append(area)
      area.select()
      document.execCommand('copy')
      area.remove()
    }
    setDone(true)
    setTimeout(() => { setDone(false) }, 1500)
  }
  return <button type="button" class="copy" title={text} data-copy={label} onClick={() => { void copy() }}>{done ? 'copied' : `copy ${label}`}</button>
}

/** A button that runs `action`, disabled meanwhile; a failure is shown next to it. */
export function ActionButton ({ action, children, kind, name }: { action: () => Promise<unknown>, children: ComponentChildren, kind?: 'danger', name: string }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const run = async (): Promise<void> => {
    setBusy(true)
    setError(undefined)
    try { await action() } catch (err) { setError((err as Error).message) } finally { setBusy(false) }
  }
  return (
    <span class="action">
      <button type="button" class={kind ?? ''} data-action={name} disabled={busy} onClick={() => { void run() }}>{children}</button>
      {error !== undefined && <span class="error" role="alert">{error}</span>}
    </span>
  )
}

/** A definition list row. */
export function Field ({ label, children }: { label: string, children: ComponentChildren }) {
  return <><dt>{label}</dt><dd>{children}</dd></>
}
