/**
 * The Overmind panel of JupyterLab's left sidebar: a Missions section and a Questions
 * section (the inbox), both live from one `Session`. The number of open questions is
 * shown as a badge on the sidebar tab (`data-count` on the tab, styled in CSS).
 */
import { Widget } from '@lumino/widgets';
import { MissionTable } from './components/missions';
import { QuestionsInbox } from './components/questions';
import type { MissionRow, Session } from './session';

export const SIDEBAR_ID = 'overmind-sidebar';

export class OvermindSidebar extends Widget {
  readonly table: MissionTable;
  readonly inbox: QuestionsInbox;

  /**
   * @param session the live state shown.
   * @param openLogs opens a mission's log view in the main area.
   */
  constructor(
    private readonly session: Session,
    openLogs: (mission: MissionRow) => void
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('om-sidebar');
    this.title.caption = 'Overmind';
    this.table = new MissionTable(session, { compact: true, onLogs: openLogs });
    this.inbox = new QuestionsInbox(session, { onCount: n => this.badge(n) });
    this.node.append(this.table.el, this.inbox.el);
  }

  private badge(count: number): void {
    // JupyterLab keeps the tab's `id` and label in the same dataset: merge, never replace
    const { count: _old, ...rest } = this.title.dataset;
    this.title.dataset = count ? { ...rest, count: String(count) } : rest;
    this.title.caption = count ? `Overmind: ${count} open question(s)` : 'Overmind';
  }

  /** Move keyboard focus to the first control of the inbox (or the inbox itself). */
  focusInbox(): void {
    const target = this.inbox.el.querySelector<HTMLElement>('button, input') ?? this.inbox.el;
    target.tabIndex = target.tabIndex < 0 ? -1 : target.tabIndex;
    target.focus();
  }

  dispose(): void {
    this.table.dispose();
    this.inbox.dispose();
    this.session.close();
    super.dispose();
  }
}
