/**
 * The sidebar's "Needs you" section: open questions and changes under review in one
 * queue, oldest first (`NeedsYouPart`). Each row reads `question · kind` or
 * `change · state`, its title (one line, ellipsis, full text as tooltip) and how long it
 * has waited; activating a row (click, Enter or Space) opens the change's review or
 * focuses the question in the Questions inbox.
 */
import { age, clip, frameThrottle, h, setText } from '../dom';
import type { NeedsYouItem, NeedsYouPart } from '../needsyou';
import type { Session } from '../session';

export interface NeedsYouOptions {
  /** Opens the review of change `id`. */
  onChange: (id: string) => void;
  /** Shows question `id` where it is answered. */
  onQuestion: (id: string) => void;
}

interface Row {
  li: HTMLLIElement;
  what: HTMLElement;
  title: HTMLElement;
  age: HTMLElement;
  since: number;
}

/** Ages move on by themselves: redrawn this often (ms). */
const AGE_TICK_MS = 5000;

function key(item: NeedsYouItem): string {
  return `${item.kind}:${item.id}`;
}

/** The "Needs you" queue (see the module comment), re-rendered once per frame after
 * each refetch of its part. */
export class NeedsYouList {
  readonly el: HTMLElement;
  private readonly count = h('span', { class: 'om-count' });
  private readonly list = h('ul', { class: 'om-needs', 'aria-label': 'what needs you' });
  private readonly empty = h('div', { class: 'om-empty' }, 'nothing waits on you');
  private readonly message = h('div', { class: 'om-message', role: 'alert' });
  private readonly rows = new Map<string, Row>();
  private readonly schedule = frameThrottle(() => this.render());
  private readonly unlisten: () => void;
  private readonly timer: ReturnType<typeof setInterval>;
  private order = '';

  constructor(
    session: Session,
    private readonly part: NeedsYouPart,
    private readonly options: NeedsYouOptions
  ) {
    this.el = h('div', { class: 'om-view om-needs-section' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Needs you'), this.count),
      this.message, this.list, this.empty);
    this.unlisten = session.listen(change => change.parts.has(part.key) && this.schedule());
    part.fetched.add(this.schedule);
    this.timer = setInterval(() => this.tickAges(), AGE_TICK_MS);
    this.schedule();
  }

  private render(): void {
    const items = this.part.items;
    const seen = new Set(items.map(key));
    for (const [k, row] of this.rows) {
      if (!seen.has(k)) {
        row.li.remove();
        this.rows.delete(k);
      }
    }
    for (const item of items) {
      this.fill(this.rows.get(key(item)) ?? this.create(item), item);
    }
    const order = items.map(key).join(',');
    if (order !== this.order) {
      this.order = order;
      this.list.replaceChildren(...items.map(i => (this.rows.get(key(i)) as Row).li));
    }
    setText(this.count, items.length ? String(items.length) : '');
    setText(this.message, this.part.error ? `needs-you list: ${this.part.error}` : '');
    this.empty.hidden = items.length > 0;
    this.tickAges();
  }

  private create(item: NeedsYouItem): Row {
    const what = h('span', { class: 'om-needs-what' });
    const ageEl = h('span', { class: 'om-needs-age' });
    const title = h('div', { class: 'om-needs-title' });
    const li = h('li', { class: 'om-needs-row', tabindex: 0, role: 'button',
      'data-kind': item.kind, 'data-id': item.id },
    h('div', { class: 'om-needs-head' }, what, ageEl), title);
    const open = () => item.kind === 'change'
      ? this.options.onChange(item.id) : this.options.onQuestion(item.id);
    li.addEventListener('click', open);
    li.addEventListener('keydown', e => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        open();
      }
    });
    const row = { li, what, title, age: ageEl, since: item.since };
    this.rows.set(key(item), row);
    return row;
  }

  private fill(row: Row, item: NeedsYouItem): void {
    row.since = item.since;
    row.li.dataset.detail = item.detail;
    setText(row.what, `${item.kind} · ${item.detail}`);
    // the CSS ellipsis cuts at the panel's width; the clip only bounds a huge first line
    setText(row.title, clip(item.title || item.id, 200));
    row.title.title = item.title || item.id;
    row.li.title = `${item.kind} ${item.id}: ${item.kind === 'change'
      ? 'open its review' : 'answer it in Questions'}`;
  }

  private tickAges(): void {
    const now = Date.now() / 1000;
    for (const row of this.rows.values()) {
      setText(row.age, age(now - row.since));
      row.age.title = `waiting since ${new Date(row.since * 1000).toLocaleString()}`;
    }
  }

  dispose(): void {
    this.unlisten();
    this.part.fetched.delete(this.schedule);
    clearInterval(this.timer);
  }
}
