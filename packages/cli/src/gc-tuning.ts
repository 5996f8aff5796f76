import v8 from 'node:v8'

/**
 * Turn off V8's incremental marking for the daemon process, unless the user
 * chose a marking flag in NODE_OPTIONS or on node's command line, or set
 * SHOAL_INCREMENTAL_MARKING=1.
 *
 * Why: while a seeder streams chunks, V8 kept starting an incremental marking
 * cycle about every 60 ms although the heap stayed near 21 MB; each cost about
 * 45 ms of CPU, mostly on background marking threads, which made garbage
 * collection the seeder's largest cost (1.5 of 3.8 CPU-seconds per GiB
 * served). Without incremental marking, V8 collects the old generation only
 * when it needs to, in one short pause (about 20 ms at this heap size), and
 * the seeder used 2.2 CPU-seconds per GiB (bench/RESULTS.md).
 *
 * Returns true when the flag was set.
 */
export function tuneGarbageCollector (env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  if (env.SHOAL_INCREMENTAL_MARKING === '1') return false
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)]
  if (given.some(arg => /incremental[-_]marking/.test(arg))) return false
  v8.setFlagsFromString('--no-incremental-marking')
  return true
}
