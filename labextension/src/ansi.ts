/**
 * ANSI escape sequences → styled text runs, safely.
 *
 * Only SGR (`ESC [ … m`) colours and bold/dim/italic/underline survive, as CSS classes on
 * text nodes; every other escape (cursor moves, OSC titles and hyperlinks, …) and other
 * control characters except tab and newline are dropped. Output is a list of runs whose
 * text is put into the DOM with `textContent`, so nothing from a mission becomes markup.
 * Codes: ECMA-48 §8.3.117 (SGR); 30–37/90–97 foreground, 40–47/100–107 background.
 */

/** A run of text with the CSS classes of its style (`om-fg-1`, `om-bold`, …). */
export interface Run {
  text: string;
  classes: string;
}

interface Style {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

// CSI with parameters, OSC up to BEL or ST, other two-byte escapes; or a lone control char
const TOKEN = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;
// an escape cut at the end of a chunk: keep it for the next chunk
const PARTIAL = /\x1b(?:\[[0-9;?]*|\][^\x07\x1b]*)?$/;

function classesOf(s: Style): string {
  const out: string[] = [];
  if (s.fg !== null) {
    out.push(`om-fg-${s.fg}`);
  }
  if (s.bg !== null) {
    out.push(`om-bg-${s.bg}`);
  }
  for (const flag of ['bold', 'dim', 'italic', 'underline'] as const) {
    if (s[flag]) {
      out.push(`om-${flag}`);
    }
  }
  return out.join(' ');
}

function applySgr(style: Style, params: string): Style {
  const codes = params === '' ? [0] : params.split(';').map(p => parseInt(p || '0', 10));
  let s = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) {
      s = { ...PLAIN };
    } else if (c === 1 || c === 2 || c === 3 || c === 4) {
      s[(['bold', 'dim', 'italic', 'underline'] as const)[c - 1]] = true;
    } else if (c === 22) {
      s.bold = s.dim = false;
    } else if (c === 23 || c === 24) {
      s[c === 23 ? 'italic' : 'underline'] = false;
    } else if (c >= 30 && c <= 37) {
      s.fg = c - 30;
    } else if (c >= 90 && c <= 97) {
      s.fg = c - 90 + 8;
    } else if (c >= 40 && c <= 47) {
      s.bg = c - 40;
    } else if (c >= 100 && c <= 107) {
      s.bg = c - 100 + 8;
    } else if (c === 39 || c === 49) {
      s[c === 39 ? 'fg' : 'bg'] = null;
    } else if (c === 38 || c === 48) {
      i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0; // 256/true colour: skipped
    }
  }
  return s;
}

/** Turns a stream of chunks into styled runs; keeps style and cut escapes across chunks. */
export class AnsiParser {
  private style: Style = { ...PLAIN };
  private carry = '';

  /** Runs of `chunk` (text of a cut escape at its end is held for the next call). */
  push(chunk: string): Run[] {
    let text = this.carry + chunk;
    const cut = PARTIAL.exec(text);
    this.carry = cut ? cut[0] : '';
    if (cut) {
      text = text.slice(0, cut.index);
    }
    const runs: Run[] = [];
    let last = 0;
    for (const m of text.matchAll(TOKEN)) {
      this.emit(runs, text.slice(last, m.index));
      if (m[2] === 'm') {
        this.style = applySgr(this.style, m[1]);
      }
      last = (m.index as number) + m[0].length;
    }
    this.emit(runs, text.slice(last));
    return runs;
  }

  private emit(runs: Run[], text: string): void {
    if (text) {
      runs.push({ text, classes: classesOf(this.style) });
    }
  }
}

/** `text` with every escape sequence and control character (but tab/newline) removed. */
export function stripAnsi(text: string): string {
  return new AnsiParser().push(text).map(r => r.text).join('');
}
