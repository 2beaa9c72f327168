/**
 * The Overmind panel of JupyterLab's left sidebar: sections stacked in rank order, all
 * live from one `Session`. Missions (rank 30) and Questions (rank 50, the inbox) are
 * built in; other views add theirs with `addSection` (prompt box 0, needs you 5,
 * party 10, objectives 20, changes 40). The number of open questions is shown as a
 * badge on the sidebar tab (`data-count` on the tab, styled in CSS).
 */
import { Widget } from '@lumino/widgets';
import { MissionTable } from './components/missions';
import { QuestionsInbox } from './components/questions';
import type { MissionRow, Session } from './session';

export const SIDEBAR_ID = 'overmind-sidebar';

/** One section of the sidebar: its element and its cleanup. */
export interface Section {
  readonly el: HTMLElement;
  dispose(): void;
}

/** Focus the first button or field in `el` (or `el` itself, made focusable). */
function focusFirst(el: HTMLElement): void {
  const target = el.querySelector<HTMLElement>('button, input') ?? el;
  target.tabIndex = target.tabIndex < 0 ? -1 : target.tabIndex;
  target.focus();
}

/** The Overmind panel (see the module comment): its sections and the questions badge. */
export class OvermindSidebar extends Widget {
  readonly table: MissionTable;
  readonly inbox: QuestionsInbox;
  private sections: { rank: number; section: Section }[] = [];

  /**
   * @param session the live state shown.
   * @param openLogs opens a mission's log view in the main area.
   */
  constructor(
    readonly session: Session,
    openLogs: (mission: MissionRow) => void
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('om-sidebar');
    this.title.caption = 'Overmind';
    this.table = this.addSection(new MissionTable(session, { compact: true, onLogs: openLogs }), 30);
    this.inbox = this.addSection(new QuestionsInbox(session, { onCount: n => this.badge(n) }), 50);
  }

  /** Show `section` among the others by `rank` (lower first); disposed with the sidebar. */
  addSection<S extends Section>(section: S, rank: number): S {
    const after = this.sections.find(s => s.rank > rank);
    this.node.insertBefore(section.el, after ? after.section.el : null);
    this.sections.push({ rank, section });
    this.sections.sort((a, b) => a.rank - b.rank);
    return section;
  }

  private badge(count: number): void {
    // JupyterLab keeps the tab's `id` and label in the same dataset: merge, never replace
    const { count: _old, ...rest } = this.title.dataset;
    this.title.dataset = count ? { ...rest, count: String(count) } : rest;
    this.title.caption = count ? `Overmind: ${count} open question(s)` : 'Overmind';
  }

  /** Move keyboard focus to the first control of the inbox (or the inbox itself). */
  focusInbox(): void {
    focusFirst(this.inbox.el);
  }

  /** Scroll to question `id` in the inbox and focus its first answer (the inbox when it
   * is not listed: answered meanwhile). */
  focusQuestion(id: string): void {
    const item = this.inbox.el.querySelector<HTMLElement>(`[data-question-id="${CSS.escape(id)}"]`);
    if (!item) {
      this.focusInbox();
      return;
    }
    item.scrollIntoView({ block: 'nearest' });
    focusFirst(item);
  }

  dispose(): void {
    for (const { section } of this.sections) {
      section.dispose();
    }
    this.session.close();
    super.dispose();
  }
}
