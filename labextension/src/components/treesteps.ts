/**
 * The leaves of the execution tree: one agent's steps (tool calls, thinking, messages,
 * its prompt), and `StepList`, which keeps only a window of them in the DOM.
 *
 * An agent may make thousands of tool calls; `StepList` renders the last `window` steps
 * (default 100) and offers "show N earlier" to widen it, appending new steps and patching
 * changed ones in place (each step carries a `rev` bumped by the reducer), so one live
 * update touches only what changed. It lets up to `window / 2` more steps pile up before
 * it drops the oldest rows: dropping rows shifts every row below them, which costs the
 * browser a layout and a repaint of the whole list, so that happens once per `window / 2`
 * new steps instead of on every update.
 */
import { clip, h, setText } from '../dom';
import type { Step, TextStep, ToolStep } from '../agentsteps';
import { editsOf, editStat, inputView } from './edits';

const PREVIEW = 160;
const STATUS_MARK: Record<string, string> = {
  completed: '✓', failed: '✗', in_progress: '…', pending: '·'
};

/** Seconds as `0.4 s`, `12 s`, `3m 5s`. */
export function duration(s: number): string {
  if (s < 10) {
    return `${Math.max(0, s).toFixed(1)} s`;
  }
  return s < 60 ? `${Math.round(s)} s` : `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
}

/** A toggle button (keyboard reachable) showing/hiding `target`; `onOpen` runs on open. */
export function toggle(label: string, target: HTMLElement, open: boolean,
  onOpen?: () => void): HTMLButtonElement {
  const b = h('button', { class: 'om-tree-toggle', type: 'button', 'aria-label': label });
  const show = (value: boolean) => {
    b.setAttribute('aria-expanded', String(value));
    setText(b, value ? '▾' : '▸');
    target.hidden = !value;
  };
  b.addEventListener('click', () => {
    const next = target.hidden;
    show(next);
    if (next) {
      onOpen?.();
    }
  });
  show(open);
  return b;
}

/** One rendered step: its element and how to refresh it. */
interface StepView {
  li: HTMLLIElement;
  rev: number;
  update(): void;
}

function toolView(step: ToolStep): StepView {
  const mark = h('span', { class: 'om-tree-mark' });
  const title = h('span', { class: 'om-tree-name' });
  const target = h('span', { class: 'om-tree-target' });
  const took = h('span', { class: 'om-tree-meta' });
  const stat = h('span', { class: 'om-tree-meta', title: 'lines added and removed' });
  const preview = h('span', { class: 'om-tree-preview' });
  const detail = h('div', { class: 'om-tree-detail' });
  const li = h('li', { role: 'treeitem', 'data-node': 'tool', 'data-tool-id': step.id });
  const more = toggle(`result of ${step.title}`, detail, false, () => fillDetail(detail, step));
  li.append(h('div', { class: 'om-tree-row' }, more, mark, title, target, stat, took, preview), detail);
  const update = () => {
    li.dataset.status = step.status;
    setText(mark, STATUS_MARK[step.status] ?? '·');
    setText(title, step.title);
    setText(target, step.target && !step.title.includes(step.target) ? step.target : '');
    setText(took, step.end !== null ? duration(step.end - step.start) : '');
    setText(stat, editStat(editsOf(step)));
    setText(preview, clip(step.output.trim().split('\n')[0] ?? '', PREVIEW));
    if (!detail.hidden) {
      fillDetail(detail, step);
    }
  };
  return { li, rev: -1, update };
}

function fillDetail(detail: HTMLElement, step: ToolStep): void {
  const input = inputView(step);
  detail.replaceChildren(
    ...(input.length ? [h('div', { class: 'om-tree-label' }, 'input'), ...input] : []),
    h('div', { class: 'om-tree-label' }, step.end === null ? 'running…' : `result (${step.status})`),
    h('pre', { class: 'om-tree-pre' }, step.output || '(no output)'));
}

function textView(step: TextStep): StepView {
  const body = h('span', { class: 'om-tree-text' });
  const full = h('pre', { class: 'om-tree-pre' });
  const li = h('li', { role: 'treeitem', 'data-node': step.kind });
  const more = toggle(`all of this ${step.kind}`, full, false, () => setText(full, step.text));
  const label = h('span', { class: 'om-tree-kind' }, step.kind);
  li.append(h('div', { class: 'om-tree-row' }, more, label, body), full);
  const update = () => {
    const text = step.text.trim();
    setText(body, clip(text.replace(/\s+/g, ' '), PREVIEW));
    more.hidden = text.length <= PREVIEW && !text.includes('\n');
    if (!full.hidden) {
      setText(full, step.text);
    }
  };
  return { li, rev: -1, update };
}

/** The steps of one agent, windowed (see the module comment). */
export class StepList {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'om-tree-steps', role: 'group' });
  private readonly earlier = h('button', { class: 'om-button om-tree-earlier', type: 'button' });
  private views: StepView[] = [];
  private from = 0;
  private steps: Step[] = [];

  /** @param window steps shown at first; "show earlier" adds `window * 5`. */
  constructor(private window = 100) {
    this.el = h('div', { class: 'om-tree-steplist' }, this.earlier, this.list);
    this.earlier.addEventListener('click', () => {
      this.window += this.window * 5;
      this.render(this.steps);
    });
  }

  /** Show `steps` (the agent's, in order): new ones appended, changed ones patched. */
  render(steps: Step[]): void {
    this.steps = steps;
    const start = Math.max(0, steps.length - this.window);
    if (this.from < start && steps.length - this.from > this.window + Math.floor(this.window / 2)) {
      this.views.splice(0, start - this.from).forEach(v => v.li.remove());
      this.from = start;
    }
    if (start < this.from) {
      const older = steps.slice(start, this.from).map(s => this.view(s));
      this.list.prepend(...older.map(v => v.li));
      this.views = [...older, ...this.views];
      this.from = start;
    }
    const fresh = steps.slice(this.from + this.views.length).map(s => this.view(s));
    this.list.append(...fresh.map(v => v.li));
    this.views.push(...fresh);
    this.views.forEach((v, i) => this.patch(v, steps[this.from + i]));
    const hidden = this.from;
    this.earlier.hidden = hidden === 0;
    setText(this.earlier, `show ${Math.min(hidden, this.window * 5)} earlier of ${hidden} hidden`);
  }

  private view(step: Step): StepView {
    return step.kind === 'tool' ? toolView(step) : textView(step);
  }

  private patch(view: StepView, step: Step): void {
    if (view.rev !== step.rev) {
      view.rev = step.rev;
      view.update();
    }
  }
}
