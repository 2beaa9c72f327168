/**
 * The mission table (`%overmind ps` widget and the sidebar's Missions section): live
 * status, restarts, age, CPU/memory, latest activity; stop / restart / kill / logs per
 * row (buttons; in the compact sidebar table, a row menu — the widget has both, and its
 * styles show the menu instead of the buttons in outputs too narrow for them, with
 * fewer columns: `missions.css`); children listed under their parent, indented. Long
 * text ends in an ellipsis, its cell's title has all of it.
 * CPU/memory/last line of every live mission come from one `GET missions?stats=1` per
 * poll.
 *
 * Rows are keyed by mission id and patched in place (only changed cells are touched),
 * at most once per animation frame, so bursts of events stay cheap.
 */
import type { Mission } from '../backend';
import { age, bytes, clip, frameThrottle, h, setText } from '../dom';
import type { Change, MissionRow, Session } from '../session';
import { connectionPill, showConnection } from './connection';
import { RowMenu, type RowMenuItem } from './rowmenu';
import { amountText } from './usage';

/** Mission statuses after which nothing happens (`model.TERMINAL`). */
export const TERMINAL = new Set(['exited', 'failed', 'killed', 'lost']);

export interface MissionTableOptions {
  /** Sidebar layout: name, status and a row menu of the actions only. */
  compact?: boolean;
  /** Open the log view of a mission (the sidebar opens a tab; widgets show it inline). */
  onLogs?: (mission: MissionRow) => void;
  /** Refresh CPU/memory/last line of live missions every this many ms (0: never). */
  pollMs?: number;
  title?: string;
}

interface RowEls {
  tr: HTMLTableRowElement;
  cells: Record<string, HTMLElement>;
  /** The row menu (the widget shows it only where its buttons do not fit). */
  menu: RowMenu;
  /** Each action's controls by label: its menu item, and its button in the widget. */
  controls: Map<string, HTMLButtonElement[]>;
}

/** Enable or disable every control of the action `label` of a row. */
function setDisabled(els: RowEls, label: string, disabled: boolean): void {
  els.controls.get(label)?.forEach(control => (control.disabled = disabled));
}

const FULL = ['name', 'status', 'restarts', 'age', 'cpu', 'memory', 'activity', 'actions'];
const COMPACT = ['name', 'status', 'actions'];
/** Statuses a restart applies to (a live process, or a backoff it cuts short). */
const RESTARTABLE = new Set(['spawning', 'running', 'stalled', 'restarting']);
type Action = 'stop' | 'restart' | 'kill';
const ACTIONS: [string, Action][] = [['Stop', 'stop'], ['Restart', 'restart'], ['Kill', 'kill']];

/** Depth-first order: children after their parent; returns [row, depth] pairs. */
export function treeOrder(rows: MissionRow[]): [MissionRow, number][] {
  const ids = new Set(rows.map(r => r.id));
  const kids = new Map<string | null, MissionRow[]>();
  for (const r of rows) {
    const parent = r.parent && ids.has(r.parent) ? r.parent : null;
    kids.set(parent, [...(kids.get(parent) ?? []), r]);
  }
  const out: [MissionRow, number][] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const r of (kids.get(parent) ?? []).sort((a, b) => a.created_at - b.created_at)) {
      out.push([r, depth]);
      walk(r.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** An agent's model use: `1,234 tok · $0.0123`, `… · cost unknown`; '' for none. */
function spentText(m: Mission): string {
  if (!m.tokens) {
    return '';
  }
  const priced = typeof m.cost_usd === 'number';
  return amountText({ tokens: m.tokens, cost: priced ? (m.cost_usd as number) : 0, unpriced: priced ? 0 : 1 });
}

function statusText(m: Mission): string {
  const exit = m.exit;
  if (TERMINAL.has(m.status) && exit) {
    // a user's stop reads "stopped", whatever the process did then (commands/render.py does too)
    const status = m.status === 'killed' && exit.stopped ? 'stopped' : m.status;
    if (exit.signal) {
      return `${status} (sig ${exit.signal})`;
    }
    if (exit.returncode !== null && exit.returncode !== undefined) {
      return `${status} (${exit.returncode})`;
    }
    return status;
  }
  return m.liveness && !TERMINAL.has(m.status) ? `${m.status} · ${m.liveness}` : m.status;
}

export class MissionTable {
  readonly el: HTMLElement;
  private readonly pill = connectionPill();
  private readonly message = h('div', { class: 'om-message', role: 'alert' });
  private readonly tbody = h('tbody');
  private readonly empty = h('div', { class: 'om-empty' }, 'no missions');
  private readonly rows = new Map<string, RowEls>();
  private readonly dirty = new Set<string>();
  private readonly columns: string[];
  private orderKey = '';
  private readonly schedule = frameThrottle(() => this.render());
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly unlisten: () => void;

  constructor(
    private readonly session: Session,
    private readonly options: MissionTableOptions = {}
  ) {
    this.columns = options.compact ? COMPACT : FULL;
    const head = h('tr', {}, ...this.columns.map(c => h('th', { scope: 'col', 'data-col': c }, c === 'actions' ? '' : c)));
    this.el = h('div', { class: `om-view om-missions${options.compact ? ' om-compact' : ''}` },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, options.title ?? 'Missions'), this.pill),
      this.message,
      h('table', { class: 'om-table' }, h('thead', {}, head), this.tbody),
      this.empty);
    this.unlisten = session.listen(change => this.changed(change));
    this.timers.push(setInterval(() => this.tickAges(), 1000));
    if (options.pollMs) {
      this.timers.push(setInterval(() => void this.poll(), options.pollMs));
    }
    for (const id of session.missions.rows.keys()) {
      this.dirty.add(id);
    }
    showConnection(this.pill, session.connection, session.detail);
    this.schedule();
  }

  private changed(change: Change): void {
    if (change.connection) {
      showConnection(this.pill, this.session.connection, this.session.detail);
    }
    for (const id of change.missions) {
      this.dirty.add(id);
    }
    if (change.missions.size) {
      this.schedule();
    }
  }

  private render(): void {
    const ordered = treeOrder([...this.session.missions.rows.values()]);
    const key = ordered.map(([r, d]) => `${r.id}:${d}`).join(',');
    for (const [row, depth] of ordered) {
      if (!this.rows.has(row.id)) {
        this.rows.set(row.id, this.createRow(row));
      }
      if (this.dirty.has(row.id)) {
        this.fill(this.rows.get(row.id) as RowEls, row, depth);
      }
    }
    if (key !== this.orderKey) {
      this.orderKey = key;
      this.tbody.replaceChildren(...ordered.map(([r]) => (this.rows.get(r.id) as RowEls).tr));
    }
    this.dirty.clear();
    this.empty.hidden = ordered.length > 0;
  }

  private createRow(row: MissionRow): RowEls {
    const cells: Record<string, HTMLElement> = {};
    const tr = h('tr', { 'data-mission-id': row.id });
    for (const c of this.columns) {
      cells[c] = tr.appendChild(h('td', { 'data-col': c }));
    }
    return { tr, cells, ...this.controls(row, cells.actions) };
  }

  /** The row's row menu and, in the widget, its action buttons, put in `cell`; every
   * action's controls by label. */
  private controls(row: MissionRow, cell: HTMLElement):
    { menu: RowMenu; controls: Map<string, HTMLButtonElement[]> } {
    const items = this.actions(row);
    const menu = new RowMenu(`actions for ${row.name}`, items);
    const controls = new Map([...menu.items].map(([label, item]) => [label, [item]]));
    if (!this.options.compact) {
      const buttons = this.buttons(row, items);
      buttons.forEach((button, label) => controls.get(label)?.push(button));
      cell.append(h('div', { class: 'om-actions' }, ...buttons.values()));
    }
    cell.append(menu.el);
    return { menu, controls };
  }

  /** A row's actions: stop, restart, kill, and logs when there is a log view (first in
   * the compact table's menu, the most used there; last among the widget's buttons). */
  private actions(row: MissionRow): RowMenuItem[] {
    const items = ACTIONS.map(([label, action]) => ({ label, run: () => void this.act(row.id, action) }));
    const open = this.options.onLogs;
    if (!open) {
      return items;
    }
    const logs = { label: 'Logs', run: () => open(this.session.missions.rows.get(row.id) ?? row) };
    return this.options.compact ? [logs, ...items] : [...items, logs];
  }

  /** A button per action, named `Stop NAME`, …, by label. */
  private buttons(row: MissionRow, items: RowMenuItem[]): Map<string, HTMLButtonElement> {
    return new Map(items.map(({ label, run }) => {
      const b = h('button', { class: 'om-button', type: 'button', 'aria-label': `${label} ${row.name}` }, label);
      b.addEventListener('click', run);
      return [label, b];
    }));
  }

  private fill(els: RowEls, row: MissionRow, depth: number): void {
    const { cells } = els;
    cells.name.style.paddingLeft = `${0.5 + depth * 1.2}em`;
    setText(cells.name, (depth ? '└ ' : '') + row.name);
    cells.name.title = `${row.name}\n${row.command.join(' ')}\n${row.id}`;
    const status = [statusText(row), spentText(row)].filter(Boolean).join(' · ');
    setText(cells.status, status);
    cells.status.title = status;
    cells.status.dataset.status = row.status;
    els.tr.dataset.status = row.status;
    const ended = TERMINAL.has(row.status);
    setDisabled(els, 'Stop', ended || row.status === 'stopping');
    setDisabled(els, 'Restart', !RESTARTABLE.has(row.status));
    setDisabled(els, 'Kill', ended);
    if (cells.restarts) {
      setText(cells.restarts, String(row.restarts));
      setText(cells.age, age(Date.now() / 1000 - (row.started_at ?? row.created_at)));
      setText(cells.cpu, row.cpu_percent !== undefined && !ended ? `${row.cpu_percent.toFixed(0)} %` : '');
      setText(cells.memory, row.rss_bytes !== undefined && !ended ? bytes(row.rss_bytes) : '');
      const activity = row.activity ?? row.last_line ?? '';
      setText(cells.activity, clip(activity, 120));
      cells.activity.title = clip(activity, 2000);
      cells.activity.dataset.seq = String(row.activitySeq ?? '');
    }
  }

  private tickAges(): void {
    if (!this.columns.includes('age')) {
      return;
    }
    for (const [id, els] of this.rows) {
      const row = this.session.missions.rows.get(id);
      if (row && !TERMINAL.has(row.status)) {
        setText(els.cells.age, age(Date.now() / 1000 - (row.started_at ?? row.created_at)));
      }
    }
  }

  /** CPU/memory/last line of every live mission: one request, whatever their number. */
  private async poll(): Promise<void> {
    const rows = this.session.missions.rows;
    if (![...rows.values()].some(r => !TERMINAL.has(r.status))) {
      return;
    }
    let stats: Mission[];
    try {
      stats = (await this.session.backend.call<{ missions: Mission[] }>('GET', 'missions?stats=1')).missions;
    } catch {
      return; // the connection pill already tells when the server is away
    }
    for (const info of stats) {
      const row = rows.get(info.id);
      if (!row || TERMINAL.has(row.status)) {
        continue;
      }
      if (info.last_line && info.last_line !== row.last_line) {
        row.activity = info.last_line;
      }
      Object.assign(row, { cpu_percent: info.cpu_percent, rss_bytes: info.rss_bytes, last_line: info.last_line });
      this.dirty.add(row.id);
    }
    this.schedule();
  }

  private run(id: string, action: Action): Promise<Mission | Mission[]> {
    const backend = this.session.backend;
    return action === 'restart'
      ? backend.call<Mission>('POST', `missions/${encodeURIComponent(id)}/restart`)
      : backend[action](id);
  }

  private async act(id: string, action: Action): Promise<void> {
    const els = this.rows.get(id);
    if (els) {
      ACTIONS.forEach(([label]) => setDisabled(els, label, true));
    }
    setText(this.message, '');
    try {
      const result = await this.run(id, action);
      const ended = Array.isArray(result) ? result : [result];
      this.session.missions.load(ended);
      ended.forEach(m => this.dirty.add(m.id));
    } catch (err) {
      setText(this.message, `${action} failed: ${err instanceof Error ? err.message : err}`);
      this.dirty.add(id);
    }
    this.schedule();
  }

  /** Stop listening and timers. */
  dispose(): void {
    this.unlisten();
    this.timers.forEach(t => clearInterval(t));
    this.rows.forEach(els => els.menu.close(false));
  }
}
