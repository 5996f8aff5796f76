/**
 * One cell per chunk (or per group of chunks for big downloads), coloured by
 * state: held, partly held, in flight, missing, or not selected. Hovering a
 * cell tells its chunks and who sent them.
 */
import type { ChunkCell, ChunkMap } from '@shoal/protocol'
import { Component } from 'preact'
import { useState } from 'preact/hooks'
import { short } from './format.js'

/** The state a cell is drawn in. */
export function cellState (cell: ChunkCell): 'held' | 'part' | 'flight' | 'missing' | 'skip' {
  if (cell.wanted === 0 && cell.held === 0) return 'skip'
  if (cell.held >= Math.max(1, cell.wanted)) return 'held'
  if (cell.inFlight > 0) return 'flight'
  return cell.held > 0 ? 'part' : 'missing'
}

function cellText (map: ChunkMap, i: number, cell: ChunkCell): string {
  const first = i * map.chunksPerCell
  const count = Math.min(map.chunksPerCell, map.chunks - first)
  const which = count === 1 ? `chunk ${first}` : `chunks ${first}–${first + count - 1}`
  const missing = Math.max(0, cell.wanted - cell.held - cell.inFlight)
  const sent = cell.from.reduce((n, [, c]) => n + c, 0)
  const from = cell.from.map(([p, c]) => `${short(map.peers[p] ?? '?', 8)}${count > 1 ? ` (${c})` : ''}`)
  if (cell.held > sent) from.push(count > 1 ? `held before (${cell.held - sent})` : 'held before')
  const parts = count === 1
    ? [cellState(cell) === 'skip' ? 'not selected' : cell.held > 0 ? 'held' : cell.inFlight > 0 ? 'in flight' : 'missing']
    : [`${cell.held} held`, `${cell.inFlight} in flight`, `${missing} missing`, ...(count - cell.wanted > 0 ? [`${count - cell.wanted} not selected`] : [])]
  return `${which}: ${parts.join(', ')}${from.length > 0 ? ` — sent by ${from.join(', ')}` : ''}`
}

/** One cell; redrawn only when its counts changed (a delta replaces just the cells that did). */
class Cell extends Component<{ cell: ChunkCell, i: number }> {
  override shouldComponentUpdate (next: { cell: ChunkCell, i: number }): boolean {
    return next.cell !== this.props.cell || next.i !== this.props.i
  }

  override render () {
    return <i class={`cell ${cellState(this.props.cell)}`} data-cell={this.props.i} />
  }
}

export function ChunkMapView ({ map }: { map: ChunkMap }) {
  const [hover, setHover] = useState<number>()
  const hovered = hover !== undefined ? map.cells[hover] : undefined
  const over = (e: MouseEvent): void => {
    const at = (e.target as HTMLElement).dataset.cell
    if (at !== undefined) setHover(Number(at))
  }
  return (
    <div class="chunkmap" data-cid={map.cid}>
      <div class="cells" onMouseOver={over} onMouseLeave={() => { setHover(undefined) }}>
        {map.cells.map((cell, i) => <Cell key={i} cell={cell} i={i} />)}
      </div>
      <p class="cellinfo" aria-live="polite">
        {hovered !== undefined && hover !== undefined
          ? cellText(map, hover, hovered)
          : `${map.chunks} chunks${map.chunksPerCell > 1 ? `, ${map.chunksPerCell} per cell` : ''}; hover a cell to see who sent it`}
      </p>
    </div>
  )
}

export function Legend () {
  return (
    <p class="legend">
      <i class="cell held" /> held <i class="cell part" /> partly held <i class="cell flight" /> in flight <i class="cell missing" /> missing <i class="cell skip" /> not selected
    </p>
  )
}
