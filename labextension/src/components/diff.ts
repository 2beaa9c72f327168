/**
 * The diff view of one change (`%overmind diff ID`, the change review tab, and whatever
 * else wants to show a change: `new DiffView(backend, changeRef)`): the files with their
 * status and +/− counts, then each file's hunks, unified or side by side (a toggle),
 * syntax highlighted; notebooks cell by cell (added / removed / modified cells with their
 * source diff, unchanged cells collapsed to their first line, "outputs changed" marked).
 * Data: `GET changes/{ref}/files` (`overmind_jupyter/workspace/filediff.py`).
 * Everything from the diff goes in as text (`textContent`), never as markup.
 */
import type { Backend } from '../backend';
import type { CellDiff, ChangeFiles, DiffLine, FileDiff, Hunk } from '../changes';
import { h, setText } from '../dom';
import { grammarFor, highlight } from './highlight';

export type DiffMode = 'unified' | 'split';

export interface DiffViewOptions {
  /** Initial layout (default unified). */
  mode?: DiffMode;
}

type Grammar = ReturnType<typeof grammarFor>;

/** One rendered line: old and new line numbers (null where absent), kind and text. */
export interface Row {
  kind: string;
  old: number | null;
  new: number | null;
  text: string;
}

/** Numbered rows of diff `lines` whose old and new sides start at those line numbers. */
export function rows(lines: DiffLine[], oldStart: number, newStart: number): Row[] {
  let o = oldStart, n = newStart;
  return lines.map(([kind, text]) => ({
    kind, text, old: kind === '+' ? null : o++, new: kind === '-' ? null : n++
  }));
}

function numCell(n: number | null): HTMLElement {
  return h('td', { class: 'om-diff-num' }, n === null ? '' : String(n));
}

function codeCell(row: Row | null, g: Grammar): HTMLElement {
  const td = h('td', { class: 'om-diff-code', 'data-kind': row?.kind ?? 'empty' });
  if (row) {
    td.append(h('span', { class: 'om-diff-sign', 'aria-hidden': 'true' }, row.kind), ...highlight(row.text, g));
  }
  return td;
}

function unified(list: Row[], g: Grammar): HTMLElement[] {
  return list.map(r => h('tr', { 'data-kind': r.kind }, numCell(r.old), numCell(r.new), codeCell(r, g)));
}

/** Side by side: runs of removed lines face the added lines that follow them. */
function split(list: Row[], g: Grammar): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (let i = 0; i < list.length;) {
    if (list[i].kind === ' ') {
      const r = list[i++];
      out.push(h('tr', { 'data-kind': ' ' }, numCell(r.old), codeCell(r, g), numCell(r.new), codeCell(r, g)));
      continue;
    }
    const removed: Row[] = [], added: Row[] = [];
    while (i < list.length && list[i].kind === '-') removed.push(list[i++]);
    while (i < list.length && list[i].kind === '+') added.push(list[i++]);
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const [l, r] = [removed[k] ?? null, added[k] ?? null];
      out.push(h('tr', { 'data-kind': 'change' }, numCell(l?.old ?? null), codeCell(l, g),
        numCell(r?.new ?? null), codeCell(r, g)));
    }
  }
  return out;
}

/** A diff table of `list` (also the execution tree's inline edits, `edits.ts`). */
export function table(list: Row[], mode: DiffMode, g: Grammar, label: string): HTMLElement {
  return h('table', { class: 'om-diff-table', 'data-mode': mode, 'aria-label': label },
    h('tbody', {}, ...(mode === 'split' ? split(list, g) : unified(list, g))));
}

function hunkEls(hunk: Hunk, mode: DiffMode, g: Grammar, path: string): HTMLElement[] {
  const head = `@@ -${hunk.old_start},${hunk.old_lines} +${hunk.new_start},${hunk.new_lines} @@ ${hunk.header}`;
  return [h('div', { class: 'om-diff-hunk' }, head),
    table(rows(hunk.lines, hunk.old_start, hunk.new_start), mode, g, `${path} ${head}`)];
}

function cellEl(cell: CellDiff, mode: DiffMode, path: string): HTMLElement {
  const index = cell.head_index ?? cell.base_index ?? 0;
  const notes = [cell.status, cell.outputs_changed ? 'outputs changed' : ''].filter(Boolean);
  const el = h('div', { class: 'om-cell', 'data-status': cell.status, 'data-cell-type': cell.cell_type },
    h('div', { class: 'om-cell-head' }, h('span', { class: 'om-cell-index' }, `[${index + 1}]`),
      h('span', { class: 'om-kind' }, cell.cell_type), h('span', {}, notes.join(' · '))));
  if (cell.status === 'unchanged') {
    el.append(h('div', { class: 'om-cell-summary' }, cell.summary));
  } else {
    const g = grammarFor(path, cell.cell_type);
    el.append(table(rows(cell.lines, 1, 1), mode, g, `${path} cell ${index + 1}`));
  }
  return el;
}

function stats(added: number, removed: number): HTMLElement {
  return h('span', { class: 'om-diff-stat' }, h('span', { class: 'om-diff-added' }, `+${added}`),
    ' ', h('span', { class: 'om-diff-removed' }, `−${removed}`));
}

function fileBody(file: FileDiff, mode: DiffMode): HTMLElement[] {
  if (file.binary) {
    return [h('div', { class: 'om-empty' }, 'binary file')];
  }
  if (file.kind === 'notebook' && file.cells) {
    const meta = file.metadata_changed ? [h('div', { class: 'om-empty' }, 'notebook metadata changed')] : [];
    return [...file.cells.map(c => cellEl(c, mode, file.path)), ...meta];
  }
  const g = grammarFor(file.path);
  const body = file.hunks.flatMap(hunk => hunkEls(hunk, mode, g, file.path));
  if (file.truncated) {
    body.push(h('div', { class: 'om-empty' }, 'long diff cut here: see `overmind diff` for the rest'));
  }
  return body.length ? body : [h('div', { class: 'om-empty' }, 'no line changes')];
}

export class DiffView {
  readonly el: HTMLElement;
  private readonly files = h('ul', { class: 'om-diff-files', 'aria-label': 'changed files' });
  private readonly body = h('div', { class: 'om-diff-body' });
  private readonly total = h('span', { class: 'om-diff-total' });
  private readonly error = h('div', { class: 'om-message', role: 'alert' });
  private readonly modes: Record<DiffMode, HTMLButtonElement>;
  private data: ChangeFiles | null = null;
  private mode: DiffMode;
  private disposed = false;

  /**
   * @param backend the engine.
   * @param change the change's id (or id prefix / task name).
   */
  constructor(
    private readonly backend: Backend,
    readonly change: string,
    options: DiffViewOptions = {}
  ) {
    this.mode = options.mode ?? 'unified';
    this.modes = {
      unified: h('button', { class: 'om-button', type: 'button', 'data-mode': 'unified' }, 'Unified'),
      split: h('button', { class: 'om-button', type: 'button', 'data-mode': 'split' }, 'Side by side')
    };
    for (const mode of ['unified', 'split'] as const) {
      this.modes[mode].addEventListener('click', () => this.setMode(mode));
    }
    this.el = h('div', { class: 'om-view om-diff', 'data-change': change },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Diff'), this.total,
        h('div', { class: 'om-diff-modes', role: 'group', 'aria-label': 'diff layout' },
          this.modes.unified, this.modes.split)),
      this.error, this.files, this.body);
    this.showMode();
    void this.reload();
  }

  /** Fetch the diff again (after a follow-up, a reopen …). */
  async reload(): Promise<void> {
    try {
      const data = await this.backend.call<ChangeFiles>('GET', `changes/${encodeURIComponent(this.change)}/files`);
      if (!this.disposed) {
        this.data = data;
        setText(this.error, '');
        this.render();
      }
    } catch (err) {
      setText(this.error, `diff not available: ${err instanceof Error ? err.message : err}`);
    }
  }

  /** Switch between unified and side-by-side layout. */
  setMode(mode: DiffMode): void {
    if (mode !== this.mode) {
      this.mode = mode;
      this.showMode();
      this.render();
    }
  }

  private showMode(): void {
    for (const [mode, button] of Object.entries(this.modes)) {
      button.setAttribute('aria-pressed', String(mode === this.mode));
    }
    this.el.dataset.mode = this.mode;
  }

  private render(): void {
    if (!this.data) {
      return;
    }
    const files = this.data.files;
    const added = files.reduce((n, f) => n + f.added, 0);
    const removed = files.reduce((n, f) => n + f.removed, 0);
    setText(this.total, `${files.length} file${files.length === 1 ? '' : 's'} · +${added} −${removed}`);
    const sections = files.map(f => this.section(f));
    this.files.replaceChildren(...files.map((f, i) => this.entry(f, sections[i])));
    this.body.replaceChildren(...sections);
    if (!files.length) {
      this.body.append(h('div', { class: 'om-empty' }, 'no differences'));
    }
  }

  private entry(file: FileDiff, section: HTMLElement): HTMLElement {
    const go = h('button', { class: 'om-diff-file-link', type: 'button', title: `show ${file.path}` },
      h('span', { class: 'om-diff-status', 'data-status': file.status }, file.status[0].toUpperCase()),
      h('span', { class: 'om-diff-path' }, file.path), stats(file.added, file.removed));
    go.addEventListener('click', () => section.scrollIntoView({ block: 'start' }));
    return h('li', { 'data-path': file.path }, go);
  }

  private section(file: FileDiff): HTMLElement {
    const name = file.old_path ? `${file.old_path} → ${file.path}` : file.path;
    return h('section', { class: 'om-diff-file', 'data-path': file.path, 'data-kind': file.kind },
      h('div', { class: 'om-diff-file-head' },
        h('span', { class: 'om-diff-path' }, name),
        h('span', { class: 'om-kind' }, file.kind === 'notebook' ? 'notebook' : file.status),
        stats(file.added, file.removed)),
      ...fileBody(file, this.mode));
  }

  dispose(): void {
    this.disposed = true;
  }
}
