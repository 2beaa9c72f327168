/**
 * A line diff of two texts (an agent's edit: the text it replaced and the new one), as
 * the diff view's `DiffLine`s: `[' ', line]` in both, `['-', line]` old only, `['+', line]`
 * new only. The common head and tail are cut off first; the rest is a longest common
 * subsequence of lines, or, past `MAX_CELLS` comparisons, all old lines then all new.
 */
import type { DiffLine } from '../changes';

const MAX_CELLS = 1_000_000;

/** `text`'s lines, without the empty one after a final newline. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}

/** The line diff of `before` → `after` (see the module comment). */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = splitLines(before), b = splitLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) {
    head++;
  }
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
    tail++;
  }
  const same = (lines: string[]): DiffLine[] => lines.map(l => [' ', l]);
  return [...same(a.slice(0, head)),
    ...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail)),
    ...same(a.slice(a.length - tail))];
}

function middle(a: string[], b: string[]): DiffLine[] {
  if (a.length * b.length > MAX_CELLS) {
    return [...a.map((l): DiffLine => ['-', l]), ...b.map((l): DiffLine => ['+', l])];
  }
  // lcs[i * w + j]: longest common subsequence of a[i:] and b[j:]
  const w = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * w);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1
        : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out: DiffLine[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push([' ', a[i++]]);
      j++;
    } else if (j >= b.length || (i < a.length && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
      out.push(['-', a[i++]]);
    } else {
      out.push(['+', b[j++]]);
    }
  }
  return out;
}
