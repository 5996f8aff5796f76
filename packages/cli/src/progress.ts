import type { Paint } from './colour.js'
import { plain } from './colour.js'
import { fitToWidth, paintBar } from './format.js'

/** Where a status line is drawn: a terminal's stderr, or a fake in tests. */
export interface LineSink {
  write(text: string): unknown
  /** Terminal width, when known. */
  columns?: number
}

/**
 * One status line redrawn in place with `\r` (progress bars). Only for a
 * terminal: commands create it when `Output.interactive` is true. `paint`
 * colours the bar when the terminal takes colour.
 */
export class StatusLine {
  private readonly sink: LineSink
  private readonly paint: Paint
  private shown = 0

  constructor (sink: LineSink, paint: Paint = plain) {
    this.sink = sink
    this.paint = paint
  }

  /** Replace the line with `line` (cut to the terminal width). */
  update (line: string): void {
    const text = fitToWidth(line, this.sink.columns)
    // cut and pad by visible width; the colour escapes go on last
    this.sink.write('\r' + paintBar(text, this.paint) + ' '.repeat(Math.max(0, this.shown - text.length)))
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
