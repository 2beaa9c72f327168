/**
 * The sidebar's Objectives section: the latest objectives, newest first, each with its
 * state, task progress (a bar of ended / planned tasks), what it spent (tokens and USD:
 * the engine's total, re-read a little after usage events of a running objective, see
 * `ObjectivesPart.refreshSpent`) and, until it ends, a Cancel (`cancel.ts`); activating
 * a row (click, Enter or Space) opens its execution tree. Rows are patched in place once
 * per frame. The Cancel sits beside the row's button, not in it (no nested controls).
 * Under a mirrored objective (a party this engine joined), while this guest is a reviewer
 * there, each undecided change has its review controls (`partyreview.ts`).
 */
import { clip, frameThrottle, h, setText } from '../dom';
import type { MembershipPart } from '../membership';
import { type ObjectiveNode, type ObjectivesPart, stateLabel } from '../objectives';
import type { Session } from '../session';
import { CancelControl } from './cancel';
import { PartyReview } from './partyreview';
import { amountText, markAmount } from './usage';

/** How long usage events of a running objective gather before its `spent` is re-read. */
const SPENT_REFRESH_MS = 2000;

export interface ObjectiveListOptions {
  /** Opens the execution tree of an objective. */
  onOpen: (objective: ObjectiveNode) => void;
  /** Rows shown (default 20). */
  limit?: number;
  /** This guest's party memberships: a reviewer reviews mirrored changes here. */
  membership?: MembershipPart;
}

interface RowEls {
  li: HTMLLIElement;
  row: HTMLElement;
  title: HTMLElement;
  state: HTMLElement;
  bar: HTMLProgressElement;
  meta: HTMLElement;
  spent: HTMLElement;
  cancel: CancelControl;
  /** A mirrored objective's changes under review, by change id. */
  reviews: Map<string, PartyReview>;
  reviewsEl: HTMLElement;
  rev: number;
}

export class ObjectiveList {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'om-objectives' });
  private readonly empty = h('div', { class: 'om-empty' }, 'no objectives yet');
  private readonly rows = new Map<string, RowEls>();
  private readonly schedule = frameThrottle(() => this.render());
  private readonly unlisten: () => void;
  private refresh: ReturnType<typeof setTimeout> | null = null;
  private order = '';

  constructor(
    private readonly session: Session,
    private readonly part: ObjectivesPart,
    private readonly options: ObjectiveListOptions
  ) {
    this.el = h('div', { class: 'om-view om-objectives-section' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Objectives')),
      this.list, this.empty);
    this.unlisten = session.listen(change => {
      if (change.parts.has(part.key) || change.parts.has(options.membership?.key ?? '')) {
        this.schedule();
      }
    });
    this.schedule();
  }

  private render(): void {
    const shown = this.part.list().slice(0, this.options.limit ?? 20);
    for (const node of shown) {
      const row = this.rows.get(node.id) ?? this.create(node);
      if (row.rev !== node.rev) {
        this.fill(row, node);
      }
      this.renderReviews(row, node);
    }
    const order = shown.map(n => n.id).join(',');
    if (order !== this.order) {
      this.order = order;
      this.list.replaceChildren(...shown.map(n => (this.rows.get(n.id) as RowEls).li));
    }
    this.empty.hidden = shown.length > 0;
    this.refreshSpentSoon();
  }

  /** Re-read the `spent` of running objectives with new usage, at most every 2 s. */
  private refreshSpentSoon(): void {
    if (this.refresh !== null || !this.part.staleSpent.size) {
      return;
    }
    this.refresh = setTimeout(() => {
      void this.part.refreshSpent(this.session.backend).then(
        changed => changed && this.schedule(),
        () => undefined // kept as it was; the next usage event tries again
      ).finally(() => {
        this.refresh = null;
      });
    }, SPENT_REFRESH_MS);
  }

  private create(node: ObjectiveNode): RowEls {
    const title = h('span', { class: 'om-tree-name' });
    const state = h('span', { class: 'om-tree-state' });
    const bar = h('progress', { class: 'om-progress', max: 1, value: 0 });
    const meta = h('span', { class: 'om-tree-meta' });
    const spent = h('span', { class: 'om-tree-meta om-objective-spent' });
    const row = h('div', {
      class: 'om-objective-row', tabindex: 0, role: 'button', 'data-objective-id': node.id
    }, h('div', {}, title, state), h('div', {}, bar, meta, spent));
    const cancel = new CancelControl(this.session.backend, node.id);
    const reviewsEl = h('div', { class: 'om-party-reviews', hidden: true });
    const li = h('li', { class: 'om-objective', 'data-objective-id': node.id }, row, cancel.el, reviewsEl);
    const open = () => this.options.onOpen(this.part.objectives.get(node.id) ?? node);
    row.addEventListener('click', open);
    row.addEventListener('keydown', e => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    });
    const els = { li, row, title, state, bar, meta, spent, cancel, reviews: new Map(), reviewsEl, rev: -1 };
    this.rows.set(node.id, els);
    return els;
  }

  private fill(els: RowEls, node: ObjectiveNode): void {
    els.rev = node.rev;
    setText(els.title, clip(node.title || node.id, 60));
    els.row.title = `objective ${node.id}: open its execution tree`;
    setText(els.state, stateLabel(node.state));
    els.state.dataset.state = els.row.dataset.state = els.li.dataset.state = node.state;
    const [done, total] = this.part.progress(node);
    els.bar.max = Math.max(total, 1);
    els.bar.value = done;
    setText(els.meta, total ? `${done}/${total} tasks` : '');
    const spending = this.part.spending(node).total;
    setText(els.spent, amountText(spending));
    markAmount(els.spent, spending);
    els.cancel.show(node.state, !node.mirror);
  }

  /** The review controls of a mirrored objective's changes (hidden unless reviewer). */
  private renderReviews(els: RowEls, node: ObjectiveNode): void {
    const membership = this.options.membership;
    if (!node.mirror || !membership) {
      return;
    }
    for (const change of node.changes.values()) {
      let review = els.reviews.get(change.id);
      if (!review) {
        review = new PartyReview(this.session.backend, change.id, node.via, { titled: true });
        els.reviews.set(change.id, review);
        els.reviewsEl.append(review.el);
      }
      review.render(change, membership.reviews(node.via));
    }
    els.reviewsEl.hidden = [...els.reviews.values()].every(r => r.el.hidden); // no empty line
  }

  dispose(): void {
    this.unlisten();
    if (this.refresh !== null) {
      clearTimeout(this.refresh);
    }
  }
}
