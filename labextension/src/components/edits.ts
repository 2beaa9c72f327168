/**
 * A tool call's input as a person reads it (the execution tree's tool detail): each file
 * edit as an inline diff, its removed and added lines tinted like the change review's
 * diff view (`diff.ts`, whose table it reuses), and every other input as `key: value`
 * lines, multi-line strings as blocks of text — never escaped JSON.
 *
 * Edits come from the tool call's ACP `diff` content (`ToolStep.diffs`: Claude, Gemini)
 * or from its input: the built-in agent's `edit_file` {path, old_text, new_text} and
 * `write_file` {path, content}; Claude's Edit {file_path, old_string, new_string},
 * MultiEdit {file_path, edits: [{old_string, new_string}]} and Write {file_path, content}.
 */
import type { DiffLine } from '../changes';
import { type Data, type EditDiff, str, type ToolStep } from '../agentsteps';
import { h } from '../dom';
import { rows, table } from './diff';
import { grammarFor } from './highlight';
import { lineDiff, splitLines } from './linediff';

const MAX_ROWS = 400; // shown per edit; the change's diff view has all of it
const CONTEXT = 3; // unchanged lines kept on either side of a changed one
const MAX_DEPTH = 4; // nested input shown as dotted keys down to this depth
/** Input keys an edit stands for (not repeated as `key: value`). */
const EDIT_KEYS = ['path', 'file_path', 'filePath', 'old_text', 'new_text', 'old_string',
  'new_string', 'content', 'edits'];

function record(value: unknown): Data | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Data) : null;
}

function pair(path: string, o: Data): EditDiff | null {
  const old: unknown = o.old_text ?? o.old_string;
  const now: unknown = o.new_text ?? o.new_string;
  return typeof old === 'string' && typeof now === 'string' ? { path, old, new: now } : null;
}

function fromInput(input: Data, toolKind: string): EditDiff[] {
  const path = str(input.path ?? input.file_path ?? input.filePath);
  if (!path) {
    return [];
  }
  const one = pair(path, input);
  if (one) {
    return [one];
  }
  const edits: unknown = input.edits;
  if (Array.isArray(edits)) {
    return edits.map(record).flatMap(e => (e && pair(path, e)) || []);
  }
  // `content` is a whole file only for an edit tool (elsewhere it may be a message)
  return toolKind === 'edit' && typeof input.content === 'string' ? [{ path, old: null, new: input.content }] : [];
}

/** The file edits a tool call made (see the module comment); [] for other tools. */
export function editsOf(step: ToolStep): EditDiff[] {
  if (step.diffs.length) {
    return step.diffs;
  }
  const input = record(step.input);
  return input ? fromInput(input, step.toolKind) : [];
}

function diffLines(edit: EditDiff): DiffLine[] {
  return edit.old === null ? splitLines(edit.new).map((l): DiffLine => ['+', l]) : lineDiff(edit.old, edit.new);
}

/** `+3 −1` over `edits` ('' without edits). */
export function editStat(edits: EditDiff[]): string {
  if (!edits.length) {
    return '';
  }
  const lines = edits.flatMap(diffLines);
  const n = (kind: string) => lines.filter(([k]) => k === kind).length;
  return `+${n('+')} −${n('-')}`;
}

/** Which rows to show: changed ones and `CONTEXT` unchanged ones around each. */
function kept(lines: DiffLine[]): boolean[] {
  const keep = lines.map(([kind]) => kind !== ' ');
  const changed = keep.map((k, i) => (k ? i : -1)).filter(i => i >= 0);
  for (const i of changed) {
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(lines.length - 1, i + CONTEXT); j++) {
      keep[j] = true;
    }
  }
  return keep;
}

function skipped(n: number): HTMLElement {
  return h('div', { class: 'om-diff-hunk' }, `⋯ ${n} unchanged line${n === 1 ? '' : 's'}`);
}

function editBody(edit: EditDiff): HTMLElement[] {
  const lines = diffLines(edit).slice(0, MAX_ROWS);
  const all = rows(lines, 1, 1);
  const keep = kept(lines);
  const g = grammarFor(edit.path);
  const out: HTMLElement[] = [];
  for (let i = 0; i < all.length;) {
    const start = i;
    while (i < all.length && keep[i] === keep[start]) {
      i++;
    }
    out.push(keep[start] ? table(all.slice(start, i), 'unified', g, `edit of ${edit.path}`) : skipped(i - start));
  }
  return out;
}

function editView(edit: EditDiff): HTMLElement {
  const lines = diffLines(edit);
  const more = lines.length - MAX_ROWS;
  return h('div', { class: 'om-tree-edit', 'data-path': edit.path },
    h('div', { class: 'om-tree-label' }, `${edit.old === null ? 'write' : 'edit'} ${edit.path} · ${editStat([edit])}`),
    ...editBody(edit),
    more > 0 ? h('div', { class: 'om-tree-label' }, `… ${more} more lines: see the change's diff`) : null);
}

/** `[key, value]` lines of a value: nested objects as dotted keys, lists of plain values
 * joined, strings as they are. */
function flatten(value: unknown, key: string, depth: number): [string, string][] {
  const obj = record(value);
  if (Array.isArray(value) && value.every(v => v === null || typeof v !== 'object')) {
    return [[key, value.map(str).join(', ')]];
  }
  if ((obj || Array.isArray(value)) && depth < MAX_DEPTH) {
    const entries = obj ? Object.entries(obj) : (value as unknown[]).map((v, i): [string, unknown] => [`[${i}]`, v]);
    const join = (k: string) => (!key ? k : k.startsWith('[') ? key + k : `${key}.${k}`);
    return entries.flatMap(([k, v]) => flatten(v, join(k), depth + 1));
  }
  if (obj || Array.isArray(value)) {
    return [[key, JSON.stringify(value)]]; // deeper than anyone reads; kept compact
  }
  return [[key, str(value)]];
}

function keyValue([key, value]: [string, string]): HTMLElement {
  if (!key) {
    return h('pre', { class: 'om-tree-pre' }, value);
  }
  const name = h('span', { class: 'om-tree-key' }, `${key}:`);
  return value.includes('\n')
    ? h('div', { class: 'om-tree-kv' }, name, h('pre', { class: 'om-tree-pre' }, value))
    : h('div', { class: 'om-tree-kv' }, name, ' ', value);
}

function rest(input: unknown, hasEdits: boolean): unknown {
  const obj = record(input);
  return hasEdits && obj ? Object.fromEntries(Object.entries(obj).filter(([k]) => !EDIT_KEYS.includes(k))) : input;
}

/** The detail of a tool call's input: its edits as diffs, the rest as `key: value`. */
export function inputView(step: ToolStep): HTMLElement[] {
  const edits = editsOf(step);
  const other = rest(step.input, edits.length > 0);
  const lines = other === null || other === undefined ? [] : flatten(other, '', 0);
  return [...edits.map(editView), ...lines.filter(([k, v]) => k || v).map(keyValue)];
}
