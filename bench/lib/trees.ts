/** Directory trees of many files for the benchmarks of small and tiny files. */
import { randomFillSync } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/** Folders a tree spreads its files over. */
export const TREE_FOLDERS = 100

/**
 * Write `count` files of random bytes under `root`, file k (of `sizeOf(k)`
 * bytes) in folder `d<k mod 100>`, plus one empty folder. Synchronous writes:
 * the bench process has nothing else to do meanwhile, and this is several
 * times faster than a thread-pool round trip per call.
 */
export async function writeTree (root: string, count: number, sizeOf: (k: number) => number): Promise<void> {
  for (let d = 0; d < TREE_FOLDERS; d++) mkdirSync(path.join(root, folder(d)), { recursive: true })
  mkdirSync(path.join(root, 'empty'), { recursive: true })
  const block = Buffer.alloc(64 * 1024)
  for (let k = 0; k < count; k++) {
    const size = sizeOf(k)
    const bytes = block.subarray(0, size)
    if (size > 0) randomFillSync(bytes)
    writeFileSync(path.join(root, folder(k % TREE_FOLDERS), `f${String(k).padStart(6, '0')}.bin`), bytes)
    // let timers and child output run now and then
    if (k % 5000 === 4999) await new Promise<void>(resolve => { setImmediate(resolve) })
  }
}

function folder (d: number): string {
  return `d${String(d).padStart(2, '0')}`
}
