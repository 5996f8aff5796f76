/**
 * The command line of bench/run.ts and what it makes of it: which benchmarks
 * run, at which sizes. Also what a benchmark module provides.
 */
import { parseArgs } from 'node:util'
import { UsageError, asUsage } from '../../examples/support/cli-process.js'
import { GiB, MiB } from './format.js'
import type { Results } from './results.js'

/** Every measured transfer runs this many times. */
export const RUNS = 2

export interface Plan {
  quick: boolean
  only: Set<number>
  keep: boolean
  fetchSize: number
  multiSize: number
  swarmSize: number
  /** The 1 + 4 swarm against aria2 (benchmark 17). */
  swarm4Size: number
  /** Unpack Debian's opentracker into bench/.work for benchmark 17. */
  installTracker: boolean
  rssSize: number
  /** Directories of 4 KiB files (benchmark 5). */
  smallFileCounts: number[]
  /** Directories of empty and tiny files (benchmark 16). */
  tinyFileCounts: number[]
  swarmLeechers: number
  multiSeeders: number
  chainLength: number
  /** Daemons in each group of the idle benchmark. */
  idleDaemons: number
  /** How long the idle benchmark measures CPU time. */
  idleWindowSeconds: number
  /** The share `--only` picks one file out of (benchmark 11), and that file's size. */
  onlyShareSize: number
  onlyFileSize: number
}

/** One benchmark: its number in the table, its name, how it measures, and the run. */
export interface Benchmark {
  n: number
  name: string
  /** For RESULTS.md "How each figure is measured": markdown, lines indented by 3 spaces after the first. */
  method: (plan: Plan) => string
  /** Adds its rows (and every run's values) to `results`. */
  run: (plan: Plan, results: Results) => Promise<void>
}

export function usage (known: readonly number[]): string {
  return `usage: npm run bench [-- --quick] [-- --only 1,2,...] [-- --keep]

  --quick     smaller sizes (fetch, gateway and cat 256 MiB, multi-source 128 MiB, swarm 64 MiB, RSS 1 GiB, idle window 15 s,
              --only share 512 MiB, small files 2,000 only, tiny files 2,000 and 20,000)
  --only L    run only these benchmarks (comma list of ${known.join(',')})
  --keep      keep the temp dir (daemon repos and logs)
  --install-tracker  unpack Debian's opentracker into bench/.work (apt-get download + dpkg -x) for benchmark 17
  --help      this text`
}

/** Throws UsageError on a bad command line. */
export function parsePlan (argv: string[], known: readonly number[]): Plan | 'help' {
  const { values } = asUsage(() => parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'install-tracker': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    },
    strict: true,
    allowPositionals: false
  }))
  if (values.help === true) return 'help'
  const only = new Set<number>()
  for (const part of (values.only ?? known.join(',')).split(',')) {
    const n = Number(part.trim())
    if (!known.includes(n)) throw new UsageError(`--only takes the numbers ${known.join(',')}, got '${part}'`)
    only.add(n)
  }
  const quick = values.quick === true
  return {
    quick,
    only,
    keep: values.keep === true,
    fetchSize: quick ? 256 * MiB : GiB,
    multiSize: quick ? 128 * MiB : 512 * MiB,
    swarmSize: quick ? 64 * MiB : 256 * MiB,
    swarm4Size: quick ? 256 * MiB : GiB,
    installTracker: values['install-tracker'] === true,
    rssSize: quick ? GiB : 4 * GiB,
    smallFileCounts: quick ? [2000] : [2000, 20_000],
    tinyFileCounts: quick ? [2000, 20_000] : [20_000, 200_000],
    swarmLeechers: 8,
    multiSeeders: 4,
    chainLength: 10,
    idleDaemons: 10,
    idleWindowSeconds: quick ? 15 : 60,
    onlyShareSize: quick ? 512 * MiB : 2 * GiB,
    onlyFileSize: 100 * MiB
  }
}
