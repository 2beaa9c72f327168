/**
 * The sidebar's Objectives section: the latest objectives, newest first, each with its
 * state, task progress (a bar of ended / planned tasks) and tokens; activating one (click,
 * Enter or Space) opens its execution tree. Rows are patched in place once per frame.
 */
import { clip, frameThrottle, h, setText } from '../dom';
import type { ObjectiveNode, ObjectivesPart } from '../objectives';
import type { Session } from '../session';
import { count } from './treesteps';

export interface ObjectiveListOptions {
  /** Opens the execution tree of an objective. */
  onOpen: (objective: ObjectiveNode) => void;
  /** Rows shown (default 20). */
  limit?: number;
}

interface RowEls {
  li: HTMLLIElement;
  title: HTMLElement;
  state: HTMLElement;
  bar: HTMLProgressElement;
  meta: HTMLElement;
  rev: number;
}

export class ObjectiveList {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'om-objectives' });
  private readonly empty = h('div', { class: 'om-empty' }, 'no objectives yet');
  private readonly rows = new Map<string, RowEls>();
  private readonly schedule = frameThrottle(() => this.render());
  private readonly unlisten: () => void;
  private order = '';

  constructor(
    session: Session,
    private readonly part: ObjectivesPart,
    private readonly options: ObjectiveListOptions
  ) {
    this.el = h('div', { class: 'om-view om-objectives-section' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Objectives')),
      this.list, this.empty);
    this.unlisten = session.listen(change => {
      if (change.parts.has(part.key)) {
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
    }
    const order = shown.map(n => n.id).join(',');
    if (order !== this.order) {
      this.order = order;
      this.list.replaceChildren(...shown.map(n => (this.rows.get(n.id) as RowEls).li));
    }
    this.empty.hidden = shown.length > 0;
  }

  private create(node: ObjectiveNode): RowEls {
    const title = h('span', { class: 'om-tree-name' });
    const state = h('span', { class: 'om-tree-state' });
    const bar = h('progress', { class: 'om-progress', max: 1, value: 0 });
    const meta = h('span', { class: 'om-tree-meta' });
    const li = h('li', {
      class: 'om-objective-row', tabindex: 0, role: 'button', 'data-objective-id': node.id
    }, h('div', {}, title, state), h('div', {}, bar, meta));
    const open = () => this.options.onOpen(this.part.objectives.get(node.id) ?? node);
    li.addEventListener('click', open);
    li.addEventListener('keydown', e => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    });
    const row = { li, title, state, bar, meta, rev: -1 };
    this.rows.set(node.id, row);
    return row;
  }

  private fill(row: RowEls, node: ObjectiveNode): void {
    row.rev = node.rev;
    setText(row.title, clip(node.title || node.id, 60));
    row.li.title = `objective ${node.id}: open its execution tree`;
    setText(row.state, node.state);
    row.state.dataset.state = node.state;
    row.li.dataset.state = node.state;
    const [done, total] = this.part.progress(node);
    row.bar.max = Math.max(total, 1);
    row.bar.value = done;
    setText(row.meta, [total ? `${done}/${total} tasks` : '',
      node.spent?.tokens ? `${count(node.spent.tokens)} tok` : ''].filter(Boolean).join(' · '));
  }

  dispose(): void {
    this.unlisten();
  }
}
