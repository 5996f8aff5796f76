/**
 * Terminal colour, and when to use it. Colour is decoration: every line reads
 * the same without it, and it is only ever added for a person at a terminal.
 *
 * For one output stream, in this order (https://no-color.org, and Node's
 * FORCE_COLOR convention):
 * 1. `FORCE_COLOR` set and not empty: colour, unless it is `0` or `false`
 *    (tests, `shoal ... | less -R`). It asks for this run what `NO_COLOR`
 *    says for all, so it wins, as it does in Node itself (which warns that
 *    NO_COLOR is ignored when both are set).
 * 2. `NO_COLOR` set and not empty: no colour.
 * 3. Otherwise colour when the stream is a TTY and `TERM` is not `dumb`.
 *
 * `--json` output is never coloured: commands pass `enabled = false` then.
 */

/** SGR codes that turn each style on and off again (off leaves other styles alone). */
const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  cyan: [36, 39]
} as const

/** The styles the CLI uses. */
export type Style = keyof typeof STYLES

/** Wraps `text` in `style`, or returns it unchanged when colour is off. */
export type Paint = (style: Style, text: string) => string

/** True when output written to `stream` may be coloured (see the module comment). */
export function colourEnabled (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true && env.TERM !== 'dumb'
}

/** A {@link Paint} that colours when `enabled`, and is the identity otherwise. */
export function painter (enabled: boolean): Paint {
  if (!enabled) return plain
  return (style, text) => {
    if (text === '') return text
    const [on, off] = STYLES[style]
    return `\u001b[${on}m${text}\u001b[${off}m`
  }
}

/** The identity {@link Paint}: pipes, files, `--json`, NO_COLOR. */
export const plain: Paint = (_style, text) => text
