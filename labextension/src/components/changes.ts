/**
 * Changes in the UI: `ChangeList` (the sidebar's Changes section and the
 * `%overmind changes` widget: each change with its state and +/− counts; activating a
 * row opens its review), `ChangePanel` (one change: state, branch, author, verification
 * result, and merge / close / reopen / request changes — the same engine routes as the
 * CLI, so the same permissions; errors shown inline) and `ChangeReview` (the panel above
 * the change's `DiffView`). All live from a session's `ChangesPart`.
 */
import type { Backend } from '../backend';
import { type Change, ChangesPart, REVIEWABLE, shownState } from '../changes';
import { clip, frameThrottle, h, setText } from '../dom';
import type { Session } from '../session';
import type { ViewFactory } from '../widgetview';
import { DiffView } from './diff';

function totals(change: Change): [number, number] {
  return [change.stat.reduce((n, s) => n + s.added, 0), change.stat.reduce((n, s) => n + s.deleted, 0)];
}

/** A pre-review check's state in two words for a list row. */
function checkWords(state: string): string {
  return ({ passed: 'tests pass', failed: 'tests fail', conflicts: 'conflicts', untested: 'no tests',
    'merged-already': 'already in target' } as Record<string, string>)[state] ?? state;
}

function stateEl(): HTMLElement {
  return h('span', { class: 'om-pill om-change-state' });
}

function showState(el: HTMLElement, state: string): void {
  setText(el, state);
  el.dataset.state = state;
}

/** Re-render `fn` (once per frame) when the part changes or fetches a change. */
function follow(session: Session, part: ChangesPart, fn: () => void): () => void {
  const schedule = frameThrottle(fn);
  const unlisten = session.listen(change => change.parts.has(part.key) && schedule());
  part.fetched.add(schedule);
  schedule();
  return () => (unlisten(), part.fetched.delete(schedule));
}

export interface ChangeListOptions {
  /** Opens a change's review. */
  onOpen: (change: Change) => void;
  /** Rows shown (default 30). */
  limit?: number;
}

export class ChangeList {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'om-changes', 'aria-label': 'changes' });
  private readonly empty = h('div', { class: 'om-empty' }, 'no changes yet');
  private readonly rows = new Map<string, { li: HTMLElement; title: HTMLElement; state: HTMLElement; meta: HTMLElement }>();
  private readonly stop: () => void;

  constructor(session: Session, private readonly part: ChangesPart, private readonly options: ChangeListOptions) {
    this.el = h('div', { class: 'om-view om-changes-section' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Changes')), this.list, this.empty);
    this.stop = follow(session, part, () => this.render());
  }

  private render(): void {
    const shown = this.part.list().slice(0, this.options.limit ?? 30);
    for (const change of shown) {
      const row = this.rows.get(change.id) ?? this.create(change);
      setText(row.title, clip(change.title || change.id, 60));
      showState(row.state, shownState(change));
      row.li.dataset.state = change.state;
      const [added, removed] = totals(change);
      const tested = change.check && REVIEWABLE.has(change.state) ? ` · ${checkWords(change.check.state)}` : '';
      setText(row.meta, `${change.id} · ${change.stat.length || change.files.length} files · +${added} −${removed}${tested}`);
    }
    this.list.replaceChildren(...shown.map(c => this.rows.get(c.id)!.li));
    this.empty.hidden = shown.length > 0;
  }

  private create(change: Change) {
    const title = h('span', { class: 'om-change-title' });
    const state = stateEl();
    const meta = h('div', { class: 'om-change-meta' });
    const li = h('li', { class: 'om-change-row', tabindex: 0, role: 'button', 'data-change-id': change.id,
      title: 'open its diff and review' }, h('div', {}, title, ' ', state), meta);
    const open = () => this.options.onOpen(this.part.changes.get(change.id) ?? change);
    li.addEventListener('click', open);
    li.addEventListener('keydown', e => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    });
    const row = { li, title, state, meta };
    this.rows.set(change.id, row);
    return row;
  }

  dispose(): void {
    this.stop();
  }
}

/** Answers of the change routes the panel calls. */
interface MergeAnswer {
  change: Change;
  outcome: { state: string; message: string };
}

export class ChangePanel {
  readonly el: HTMLElement;
  private readonly title = h('span', { class: 'om-change-title' });
  private readonly state = stateEl();
  private readonly meta = h('div', { class: 'om-change-meta' });
  private readonly reason = h('div', { class: 'om-change-reason' });
  private readonly verification = h('div', { class: 'om-verification' });
  private readonly check = h('div', { class: 'om-check', 'aria-label': 'pre-review check' });
  private readonly error = h('div', { class: 'om-message', role: 'alert' });
  private readonly notice = h('div', { class: 'om-change-notice', role: 'status' });
  private readonly review = h('textarea', { class: 'om-review-text', rows: 4, 'aria-label': 'requested changes',
    placeholder: 'What should change? The agent gets this and the current diff.' });
  private readonly buttons: Record<string, HTMLButtonElement> = {};
  private readonly backend: Backend;
  private readonly stop: () => void;

  /**
   * @param onChanged told after an action changed the change (e.g. reload its diff).
   */
  constructor(session: Session, private readonly part: ChangesPart, readonly id: string,
    private readonly onChanged: () => void = () => undefined) {
    this.backend = session.backend;
    const form = h('div', { class: 'om-review-form', hidden: true }, this.review,
      this.button('send', 'Send review', () => this.requestChanges(form)));
    this.el = h('div', { class: 'om-view om-change-panel', 'data-change-id': id },
      h('div', { class: 'om-header' }, this.title, this.state),
      this.meta, this.reason, this.check, this.verification,
      h('div', { class: 'om-change-actions' },
        this.button('merge', 'Merge', () => this.act('merge')),
        this.button('check', 'Test again', () => this.act('check')),
        this.button('close', 'Close', () => this.act('close')),
        this.button('reopen', 'Reopen', () => this.act('reopen')),
        this.button('request', 'Request changes…', () => this.toggleForm(form))),
      form, this.notice, this.error);
    this.stop = follow(session, part, () => this.render());
  }

  private button(key: string, label: string, onClick: () => void): HTMLButtonElement {
    const b = h('button', { class: 'om-button', type: 'button', 'data-action': key }, label);
    b.addEventListener('click', onClick);
    this.buttons[key] = b;
    return b;
  }

  private render(): void {
    const c = this.part.changes.get(this.id);
    if (!c) {
      setText(this.title, `change ${this.id}`);
      return;
    }
    setText(this.title, c.title || c.id);
    showState(this.state, shownState(c));
    this.el.dataset.state = c.state;
    const merged = c.merge_commit ? ` · merged as ${c.merge_commit.slice(0, 10)}` : '';
    setText(this.meta, `${c.id} · ${c.branch} → ${c.target} · by ${c.author}${merged}`);
    setText(this.reason, c.reason ?? '');
    this.renderVerification(c);
    this.renderCheck(c);
    const open = REVIEWABLE.has(c.state);
    this.buttons.merge.disabled = !open;
    this.buttons.check.disabled = !open;
    this.buttons.close.disabled = !open;
    this.buttons.request.disabled = !open || !c.parent;
    this.buttons.request.title = c.parent ? '' : 'a change of no objective: edit its branch yourself';
    this.buttons.reopen.disabled = c.state !== 'closed';
  }

  private renderVerification(c: Change): void {
    const v = c.verification;
    if (!v) {
      this.verification.replaceChildren();
      return;
    }
    const command = Array.isArray(v.command) ? v.command.join(' ') : (v.command ?? '');
    this.verification.dataset.ok = String(v.ok);
    this.verification.replaceChildren(
      h('div', {}, `verification ${v.ok ? 'passed' : 'failed'}: ${command}` +
        (v.exit_code === null ? '' : ` (exit ${v.exit_code})`)),
      v.output_tail ? h('pre', { class: 'om-verification-tail' }, v.output_tail) : '');
  }

  /** The pre-review check (tests on the change merged onto the target's tip), while the
   * change is undecided: what a reviewer reads before Merge. */
  private renderCheck(c: Change): void {
    const check = c.check;
    if (!check || !REVIEWABLE.has(c.state)) {
      this.check.replaceChildren();
      delete this.check.dataset.state;
      return;
    }
    this.check.dataset.state = check.state;
    this.check.replaceChildren(
      h('div', {}, `Checked before review: ${check.message}`),
      check.output_tail ? h('details', {}, h('summary', {}, 'test output'),
        h('pre', { class: 'om-verification-tail' }, check.output_tail)) : '');
  }

  private toggleForm(form: HTMLElement): void {
    form.hidden = !form.hidden;
    if (!form.hidden) {
      this.review.focus();
    }
  }

  private async act(action: 'merge' | 'close' | 'reopen' | 'check'): Promise<void> {
    const answer = await this.call<Change | MergeAnswer>(`changes/${encodeURIComponent(this.id)}/${action}`);
    if (!answer) {
      return;
    }
    const merged = 'outcome' in answer ? answer : null;
    this.part.put(merged ? merged.change : (answer as Change));
    const done = action === 'check' ? `tested: ${(answer as Change).check?.message ?? ''}` : `${action}d`;
    setText(this.notice, merged ? `${merged.outcome.state}: ${merged.outcome.message}` : done);
    this.render();
    this.onChanged();
  }

  private async requestChanges(form: HTMLElement): Promise<void> {
    const text = this.review.value.trim();
    if (!text) {
      setText(this.error, 'say what should change first');
      return;
    }
    const answer = await this.call<{ change: Change; task: { id: string; name: string } }>(
      `changes/${encodeURIComponent(this.id)}/request-changes`, { text });
    if (answer) {
      this.part.put(answer.change);
      this.review.value = '';
      form.hidden = true;
      setText(this.notice, `changes requested: follow-up task ${answer.task.name} queued`);
      this.render();
      this.onChanged();
    }
  }

  /** POST `path`; null (and the message shown inline) when it failed. */
  private async call<T>(path: string, body: unknown = {}): Promise<T | null> {
    const buttons = Object.values(this.buttons);
    buttons.forEach(b => (b.disabled = true));
    setText(this.error, '');
    setText(this.notice, 'working…');
    try {
      return await this.backend.call<T>('POST', path, body);
    } catch (err) {
      setText(this.error, err instanceof Error ? err.message : String(err));
      setText(this.notice, '');
      return null;
    } finally {
      this.render();
    }
  }

  dispose(): void {
    this.stop();
  }
}

/** One change's review: its panel above its diff (the diff reloads after an action). */
export class ChangeReview {
  readonly el: HTMLElement;
  readonly panel: ChangePanel;
  readonly diff: DiffView;

  constructor(session: Session, part: ChangesPart, id: string) {
    this.diff = new DiffView(session.backend, id);
    this.panel = new ChangePanel(session, part, id, () => void this.diff.reload());
    this.el = h('div', { class: 'om-change-review', 'data-change-id': id }, this.panel.el, this.diff.el);
  }

  dispose(): void {
    this.panel.dispose();
    this.diff.dispose();
  }
}

/** `VIEWS.diff` (`%overmind diff ID`): the review of the model's `change`. */
export const diffWidgetView: ViewFactory = ({ model, session }) => {
  const s = session();
  const review = new ChangeReview(s, s.addPart(new ChangesPart()), String(model.get('change')));
  return { nodes: [review.el], dispose: () => review.dispose() };
};

/** `VIEWS.changes` (`%overmind changes`): the list; a row opens its review below it. */
export const changesWidgetView: ViewFactory = ({ model, session, el }) => {
  const s = session();
  const part = s.addPart(new ChangesPart(model.get('objective') || undefined));
  let review: ChangeReview | null = null;
  const list = new ChangeList(s, part, {
    onOpen: c => {
      review?.dispose();
      review?.el.remove();
      review = new ChangeReview(s, part, c.id);
      el.append(review.el);
    }
  });
  return { nodes: [list.el], dispose: () => (list.dispose(), review?.dispose()) };
};
