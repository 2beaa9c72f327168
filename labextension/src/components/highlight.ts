/**
 * A small syntax highlighter for diff lines: Python, JSON, TOML, Markdown and
 * JavaScript/TypeScript. It works line by line (a diff shows fragments, so a string or
 * comment opened on an earlier line is not tracked) and returns spans whose text goes in
 * through `textContent` only: file content is agent output, never markup.
 *
 * Token classes (`om-tok-<kind>`, coloured from JupyterLab's editor variables in
 * `style/changes.css`): keyword, string, number, comment, key, heading, builtin.
 */
import { h } from '../dom';

type Kind = 'keyword' | 'string' | 'number' | 'comment' | 'key' | 'heading' | 'builtin';

/** One language: a sticky-free global regex whose named groups are token kinds. */
interface Grammar {
  pattern: RegExp;
}

const STRING = String.raw`"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?`;
const NUMBER = String.raw`\b(?:0[xob][\da-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)\b`;

function words(list: string): string {
  return String.raw`\b(?:${list.trim().split(/\s+/).join('|')})\b`;
}

function grammar(parts: Partial<Record<Kind, string>>): Grammar {
  const groups = Object.entries(parts).map(([kind, src]) => `(?<${kind}>${src})`);
  return { pattern: new RegExp(groups.join('|'), 'g') };
}

const PYTHON = grammar({
  comment: '#.*',
  string: String.raw`[rbfuRBFU]{0,2}(?:"""|''')?(?:${STRING})`,
  keyword: words(`and as assert async await break class continue def del elif else except
    finally for from global if import in is lambda nonlocal not or pass raise return try
    while with yield match case None True False self`),
  builtin: words('print len range str int float dict list set tuple open isinstance super'),
  number: NUMBER
});

const JS = grammar({
  comment: String.raw`\/\/.*|\/\*.*?(?:\*\/|$)`,
  string: `${STRING}|\`(?:[^\`\\\\]|\\\\.)*\`?`,
  keyword: words(`break case catch class const continue default delete do else export
    extends finally for from function if import in instanceof let new of return static
    super switch this throw try typeof var void while yield async await null undefined
    true false interface type enum implements readonly private public protected`),
  number: NUMBER
});

const JSON_ = grammar({
  key: String.raw`"(?:[^"\\]|\\.)*"(?=\s*:)`,
  string: String.raw`"(?:[^"\\]|\\.)*"?`,
  keyword: words('true false null'),
  number: String.raw`-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b`
});

const TOML = grammar({
  comment: '#.*',
  heading: String.raw`^\s*\[\[?[^\]]*\]\]?`,
  key: String.raw`^\s*[\w.\-"']+(?=\s*=)`,
  string: STRING,
  keyword: words('true false'),
  number: NUMBER
});

const MARKDOWN = grammar({
  heading: '^#{1,6} .*',
  comment: '^> .*',
  string: '`[^`]*`?',
  keyword: String.raw`\*\*[^*]+\*\*|__[^_]+__`,
  key: String.raw`\[[^\]]*\]\([^)]*\)`
});

const BY_EXTENSION: Record<string, Grammar> = {
  py: PYTHON, pyi: PYTHON, ipynb: PYTHON, js: JS, mjs: JS, cjs: JS, ts: JS, tsx: JS,
  jsx: JS, json: JSON_, toml: TOML, md: MARKDOWN, markdown: MARKDOWN
};

/** The grammar for a file path (by extension), or null when the language is unknown. */
export function grammarFor(path: string, cellType?: string): Grammar | null {
  if (cellType === 'markdown') {
    return MARKDOWN;
  }
  const ext = path.toLowerCase().split('.').pop() ?? '';
  return BY_EXTENSION[ext] ?? null;
}

/** Tokens of one line: `[kind or null, text]`, concatenating back to `line`. */
export function tokenize(line: string, g: Grammar): [Kind | null, string][] {
  const out: [Kind | null, string][] = [];
  let at = 0;
  g.pattern.lastIndex = 0;
  for (let m = g.pattern.exec(line); m; m = g.pattern.exec(line)) {
    if (m[0] === '') {
      g.pattern.lastIndex++;
      continue;
    }
    if (m.index > at) {
      out.push([null, line.slice(at, m.index)]);
    }
    const kind = Object.entries(m.groups ?? {}).find(([, v]) => v !== undefined)?.[0];
    out.push([(kind as Kind) ?? null, m[0]]);
    at = m.index + m[0].length;
  }
  if (at < line.length) {
    out.push([null, line.slice(at)]);
  }
  return out;
}

/** `line` as text nodes and `om-tok-*` spans (plain text when `g` is null). */
export function highlight(line: string, g: Grammar | null): Node[] {
  if (!g) {
    return [document.createTextNode(line)];
  }
  return tokenize(line, g).map(([kind, text]) =>
    kind ? h('span', { class: `om-tok-${kind}` }, text) : document.createTextNode(text));
}
