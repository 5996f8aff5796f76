import { fitToWidth } from './format.js'

/** Where a status line is drawn: a terminal's stderr, or a fake in tests. */
export interface LineSink {
  write(text: string): unknown
  /** Terminal width, when known. */
  columns?: number
}

/**
 * One status line redrawn in place with `\r` (progress bars). Only for a
 * terminal: commands create it when `Output.interactive` is true.
 */
export class StatusLine {
  private readonly sink: LineSink
  private shown = 0

  constructor (sink: LineSink) {
    this.sink = sink
  }

  /** Replace the line with `line` (cut to the terminal width). */
  update (line: string): void {
    const text = fitToWidth(line, this.sink.columns)
    this.sink.write('\r' + text.padEnd(this.shown))
    this.shown = text.length
  }

  /** Keep the last line on screen and move below it. */
  finish (): void {
    if (this.shown > 0) this.sink.write('\n')
    this.shown = 0
  }

  /** Erase the line, leaving the cursor at its start. */
  clear (): void {
    if (this.shown > 0) this.sink.write('\r' + ' '.repeat(this.shown) + '\r')
    this.shown = 0
  }
}
