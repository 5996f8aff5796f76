import type { ChunkPicker, PickerSession } from './chunk-picker.js'

/** Chunks to ask for before any other (readers' windows: demand.ts). */
export interface PriorityChunks {
  /** The first chunk at or after `from` that a reader is blocked on, or -1: these go first. */
  nextUrgent(from: number): number
  /** The first priority chunk at or after `from`, or -1. */
  next(from: number): number
}

/**
 * A ChunkPicker that first gives each session the priority chunks it can
 * serve (the chunks readers are blocked on, then their read-ahead, each in
 * index order), then
 * whatever the picker chooses (rarest first). Chunks it claimed are skipped
 * until their request ends (answered, timed out, refused, session gone).
 */
export function withPriority<S extends PickerSession> (picker: ChunkPicker<S>, priority: PriorityChunks | undefined, lengthOf: (index: number) => number = () => 1): ChunkPicker<S> {
  if (priority === undefined) return picker
  const claimed = new Set<number>()
  return {
    get scanned () { return picker.scanned },
    addSession: s => { picker.addSession(s) },
    removeSession: s => { picker.removeSession(s); claimed.clear() },
    onHave: (s, i) => { picker.onHave(s, i) },
    onHaveAll: (s, previous) => { picker.onHaveAll(s, previous) },
    pick (session, max = 1, maxBytes = Infinity) {
      const out: number[] = []
      let bytes = 0
      for (const next of [(p: number) => priority.nextUrgent(p), (p: number) => priority.next(p)]) {
        for (let p = next(0); p !== -1 && out.length < max; p = next(p + 1)) {
          if (claimed.has(p) || !session.has(p)) continue
          // within the byte window, but always at least one chunk
          if (out.length > 0 && bytes + lengthOf(p) > maxBytes) return out
          if (picker.claim(session, p)) { out.push(p); claimed.add(p); bytes += lengthOf(p) }
        }
      }
      if (out.length < max && bytes < maxBytes) out.push(...picker.pick(session, max - out.length, maxBytes - bytes))
      return out
    },
    moveFromSeeds: (holder, i) => picker.moveFromSeeds(holder, i),
    unrequest: (s, i) => { claimed.delete(i); picker.unrequest(s, i) },
    refused: (s, i) => { claimed.delete(i); picker.refused(s, i) },
    failed: i => { claimed.delete(i); picker.failed(i) },
    completed: i => { claimed.delete(i); return picker.completed(i) },
    claim: (s, i) => picker.claim(s, i),
    reopen: i => { claimed.delete(i); picker.reopen(i) },
    exhausted: () => picker.exhausted()
  }
}
