/**
 * The results table: rows as the benchmarks add them, the text table on
 * stdout, and bench/RESULTS.md (table, command, date, machine, how each
 * figure is measured, every run's values).
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import { GiB } from './format.js'
import type { Benchmark, Plan } from './plan.js'

export type Verdict = 'met' | 'missed' | '-' | 'skipped' | 'failed'

export interface Row {
  bench: string
  what: string
  figure: string
  baseline: string
  ratio: string
  target: string
  result: Verdict
  /** Which of the RUNS runs the figure shows. */
  runs: string
}

export function judge (value: number, op: '>=' | '<=', target: number): Verdict {
  return (op === '>=' ? value >= target : value <= target) ? 'met' : 'missed'
}

/** What one run of bench/run.ts found. */
export class Results {
  readonly rows: Row[] = []
  /** Every run's values, per benchmark, for RESULTS.md. */
  readonly details: string[] = []
  readonly notes: string[] = []

  row (row: Row): void {
    this.rows.push(row)
  }

  /** A row with no target, for information: the better of the runs. */
  info (row: Pick<Row, 'bench' | 'what' | 'figure' | 'baseline' | 'ratio'> & Partial<Pick<Row, 'runs'>>): void {
    this.rows.push({ target: '-', result: '-', runs: 'better', ...row })
  }

  detail (text: string): void {
    this.details.push(text)
  }

  note (text: string): void {
    this.notes.push(text)
  }

  /** The table for stdout, and the line that counts targets met and missed. */
  summary (failures: number): string {
    const missed = this.rows.filter(r => r.result === 'missed').map(r => `#${r.bench}`)
    return `${textTable(HEADER, this.rows.map(rowCells))}\n\ntargets: ${this.rows.filter(r => r.result === 'met').length} met, ${missed.length} missed${missed.length > 0 ? ` (${missed.join(', ')})` : ''}${failures > 0 ? `; ${failures} benchmark(s) failed` : ''}`
  }
}

const HEADER = ['#', 'benchmark', 'figure', 'baseline (same run)', 'ratio', 'target', 'result', 'of 2 runs']

function rowCells (r: Row): string[] {
  return [r.bench, r.what, r.figure, r.baseline, r.ratio, r.target, r.result, r.runs]
}

function textTable (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? c.length)).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function markdownTable (header: string[], rows: string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|')
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(r => `| ${r.map(esc).join(' | ')} |`)
  ].join('\n')
}

export function machine (): string {
  const cpus = os.cpus()
  return `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / GiB).toFixed(1)} GiB memory, Node ${process.version}, ${os.platform()} ${os.release()}`
}

function commandLine (argv: string[]): string {
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`
  return `npx tsx bench/run.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`
}

export interface Run {
  plan: Plan
  argv: string[]
  startedAt: Date
  seconds: number
  /** Every benchmark, run or not: RESULTS.md says how each measures. */
  benchmarks: Benchmark[]
}

export async function writeResultsFile (file: string, results: Results, run: Run): Promise<void> {
  const { plan } = run
  const text = `# Shoal benchmarks

- command: \`${commandLine(run.argv)}\`${plan.quick ? ' (quick sizes)' : ''}
- date: ${run.startedAt.toISOString()} (took ${(run.seconds / 60).toFixed(1)} min)
- machine: ${machine()}
- every daemon is a separate \`node packages/cli/dist/bin.js daemon\` process on 127.0.0.1 (TCP + Noise + Yamux), driven by the real CLI

${markdownTable(HEADER, results.rows.map(rowCells))}

"of 2 runs": every measured transfer ran twice; *better* is the faster run (rates
and times), *worse* is the higher of the two (ceilings: upload multiple, peak RSS).
MB/s = 10^6 bytes per second. Ratios: figure / baseline (for times, lower is
better; for rates, higher is better).

## How each figure is measured

${run.benchmarks.map(b => `${b.n}. ${b.method(plan)}`).join('\n')}

## Every run

${results.details.map(d => `- ${d}`).join('\n')}
${results.notes.length > 0 ? `\n## Notes\n\n${results.notes.map(n => `- ${n}`).join('\n')}\n` : ''}`
  await fs.writeFile(file, text)
}
