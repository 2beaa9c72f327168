/**
 * The execution tree of one objective (`%%overmind prompt` widget, and the main-area tab
 * the sidebar's Objectives section opens): objective → scope and plan → tasks → agent
 * missions → tool calls (name, target, status, duration, expandable input — edits as
 * diffs, `edits.ts` — and result), thinking and messages; then the objective's changes
 * with their state and a "diff" button (a mirrored objective's: no diff here, but a
 * reviewer's Merge, Request changes… and Close, `partyreview.ts`). The objective, each
 * task and each agent show their elapsed time (`elapsed.ts`: one ticking timer per tree)
 * and what they spent (`usage.ts`): per agent, per task (its agents), and one total for
 * the objective — the engine's — split into planning and agents. A Cancel (`cancel.ts`)
 * sits on the objective until it ends. Live: it re-renders at most once per animation
 * frame and only the nodes whose `rev` changed; each agent's steps are windowed
 * (`StepList`), so thousands of tool calls stay cheap.
 *
 * Data attributes for styles and tests: `data-node` (objective / task / agent / tool /
 * message / thinking / prompt / change), `data-state` / `data-status`, ids.
 */
import { clip, frameThrottle, h, setText } from '../dom';
import type { AgentNode } from '../agentsteps';
import { shownState } from '../changes';
import type { MembershipPart } from '../membership';
import { type ChangeNode, type ObjectiveNode, ObjectivesPart, stateLabel, type TaskNode } from '../objectives';
import type { Change, Session } from '../session';
import type { ViewFactory } from '../widgetview';
import { CancelControl } from './cancel';
import { connectionPill, showConnection } from './connection';
import { DiffView } from './diff';
import { elapsedEl, Ticker } from './elapsed';
import { PartyReview } from './partyreview';
import { profiledRender, profileLog } from './treeprofile';
import { StepList, toggle } from './treesteps';
import { amountText, markAmount, partsText, usageText } from './usage';

export interface TreeOptions {
  /** Opens a change's diff / panel; without it the change nodes have no "diff" button. */
  onOpenChange?: (changeId: string) => void;
  /** This guest's party memberships (a part of the tree's session): a mirrored change
   * gets review controls while the membership it came through is a reviewer. */
  membership?: MembershipPart;
  /** Steps shown per agent before "show earlier" (default 100). */
  stepWindow?: number;
}

function item(node: string, open: boolean, label: string, ...row: (HTMLElement | string)[]) {
  const children = h('ul', { class: 'om-tree-children', role: 'group' });
  const li = h('li', { role: 'treeitem', 'data-node': node });
  li.append(h('div', { class: 'om-tree-row' }, toggle(label, children, open), ...row), children);
  return { li, children };
}

function stateEl(): HTMLElement {
  return h('span', { class: 'om-tree-state' });
}

function showState(el: HTMLElement, state: string, li?: HTMLElement): void {
  setText(el, stateLabel(state));
  el.dataset.state = state;
  if (li) {
    li.dataset.state = state;
  }
}

class AgentView {
  readonly li: HTMLElement;
  private readonly name = h('span', { class: 'om-tree-name' });
  private readonly status = stateEl();
  private readonly meta = h('span', { class: 'om-tree-meta' });
  private readonly elapsed = elapsedEl();
  private readonly steps: StepList;
  private rev = -1;

  private latest: AgentNode | null = null;

  constructor(readonly mission: string, window: number, private readonly ticker: Ticker) {
    this.steps = new StepList(window);
    const open = toggle(`steps of agent ${mission}`, this.steps.el, true, () => this.refresh());
    this.li = h('li', { role: 'treeitem', 'data-node': 'agent', 'data-mission-id': mission },
      h('div', { class: 'om-tree-row' }, open, this.name, this.status, this.elapsed, this.meta), this.steps.el);
  }

  private refresh(): void {
    if (this.latest) {
      this.steps.render(this.latest.steps);
    }
  }

  render(agent: AgentNode): void {
    this.latest = agent;
    if (agent.rev === this.rev) {
      return;
    }
    this.rev = agent.rev;
    setText(this.name, `agent ${agent.agent || 'builtin'} · ${agent.name || agent.mission}`);
    showState(this.status, agent.liveness && agent.ended === null ? `${agent.status} · ${agent.liveness}` : agent.status, this.li);
    this.ticker.show(this.elapsed, agent.started, agent.ended);
    setText(this.meta, [`${agent.toolCount} tool calls`, usageText(agent.usage),
      agent.stopReason ? `stop: ${agent.stopReason}` : ''].filter(Boolean).join(' · '));
    if (!this.steps.el.hidden) {
      this.steps.render(agent.steps);
    }
  }
}

class TaskView {
  readonly li: HTMLElement;
  private readonly children: HTMLElement;
  private readonly name = h('span', { class: 'om-tree-name' });
  private readonly state = stateEl();
  private readonly meta = h('span', { class: 'om-tree-meta' });
  private readonly text = h('span', { class: 'om-tree-text' });
  private readonly elapsed = elapsedEl();
  readonly agents = new Map<string, AgentView>();
  private rev = -1;

  constructor(task: TaskNode, private readonly ticker: Ticker) {
    const built = item('task', true, `task ${task.name}`, this.name, this.state, this.elapsed, this.meta, this.text);
    this.li = built.li;
    this.children = built.children;
    this.li.dataset.taskId = task.id;
  }

  render(task: TaskNode, part: ObjectivesPart, window: number): void {
    if (task.rev !== this.rev) {
      this.rev = task.rev;
      setText(this.name, `task ${task.name}`);
      showState(this.state, task.state, this.li);
      setText(this.text, clip(task.description, 120));
      this.text.title = task.description + (task.reason ? `\n${task.reason}` : '');
      this.ticker.show(this.elapsed, task.started, task.ended);
    }
    for (const mission of task.missions) {
      const agent = part.agents.get(mission);
      if (!agent) {
        continue;
      }
      let view = this.agents.get(mission);
      if (!view) {
        view = new AgentView(mission, window, this.ticker);
        this.agents.set(mission, view);
        this.children.append(view.li);
      }
      view.render(agent);
    }
    const meta = [placement(task), task.dependsOn.length ? `after ${task.dependsOn.join(', ')}` : '',
      usageText(part.taskUsage(task))].filter(Boolean).join(' · ');
    setText(this.meta, meta);
    this.meta.title = task.fallback ? `runs here: ${task.fallback}` : '';
  }
}

/** Where a task's agent runs, when not here: `on <hub target>`; `here (fallback)` when a
 * hub target could not start it. */
function placement(task: TaskNode): string {
  if (task.fallback) {
    return 'here (fallback)';
  }
  return task.target && task.target !== 'local' ? `on ${task.target}` : '';
}

class ChangeView {
  readonly li: HTMLElement;
  private readonly name = h('span', { class: 'om-tree-name' });
  private readonly state = stateEl();
  private readonly meta = h('span', { class: 'om-tree-meta' });
  private rev = -1;

  /** `review`: a mirrored change's review controls (`partyreview.ts`), under its row. */
  constructor(change: ChangeNode, onOpen?: (id: string) => void, readonly review?: PartyReview) {
    this.li = h('li', { role: 'treeitem', 'data-node': 'change', 'data-change-id': change.id });
    const row = h('div', { class: 'om-tree-row' }, h('span', { class: 'om-tree-mark' }, '⎇'),
      this.name, this.state, this.meta);
    if (onOpen) {
      const diff = h('button', { class: 'om-button', type: 'button', 'aria-label': `diff of change ${change.id}` }, 'diff');
      diff.addEventListener('click', () => onOpen(change.id));
      row.append(diff);
    }
    this.li.append(row, review?.el ?? '');
  }

  /** `reviewer`: this guest may review the (mirrored) change. */
  render(change: ChangeNode, reviewer = false): void {
    this.review?.render(change, reviewer);
    if (change.rev === this.rev) {
      return;
    }
    this.rev = change.rev;
    setText(this.name, `change ${change.id}`);
    const v = change.verification;
    showState(this.state, shownState(change), this.li);
    const tests = v ? `tests ${v.ok ? 'passed' : `failed (${v.exitCode ?? '?'})`}` : '';
    setText(this.meta, [change.files.length ? `${change.files.length} files` : '', tests,
      change.check ? `pre-review check ${change.check}` : ''].filter(Boolean).join(' · '));
    this.meta.title = [change.reason, v ? `${v.command}\n${v.tail}` : ''].filter(Boolean).join('\n');
  }
}

/** The execution tree of objective `objectiveId`, live from `part` (see module comment). */
export class ExecutionTree {
  readonly el: HTMLElement;
  private readonly pill = connectionPill();
  private readonly title = h('span', { class: 'om-tree-title' }, 'objective');
  private readonly state = stateEl();
  private readonly elapsed = elapsedEl();
  private readonly total = h('span', { class: 'om-tree-meta om-tree-total', title: 'what the objective spent in all' });
  private readonly parts = h('span', { class: 'om-tree-meta om-tree-parts' });
  private readonly cancel: CancelControl;
  private readonly ticker = new Ticker();
  private readonly empty = h('div', { class: 'om-empty' }, 'loading…');
  private readonly root = item('objective', true, 'the objective');
  private readonly scope = h('li', { role: 'treeitem', 'data-node': 'scope', class: 'om-tree-line' });
  private readonly planLabel = h('span', { class: 'om-tree-name' }, 'plan');
  private readonly plan = item('plan', true, 'the plan', this.planLabel);
  private readonly changes = item('changes', true, 'the changes', h('span', { class: 'om-tree-name' }, 'changes'));
  private readonly error = h('li', { class: 'om-tree-line om-tree-error', role: 'alert' });
  private readonly tasks = new Map<string, TaskView>();
  private readonly changeViews = new Map<string, ChangeView>();
  private readonly schedule = frameThrottle(() => profiledRender(this.el, () => this.render()));
  private readonly unlisten: () => void;
  private rev = -1;
  private busyMs = 0; // the part's busyMs at the last batch

  constructor(
    private readonly session: Session,
    private readonly part: ObjectivesPart,
    readonly objectiveId: string,
    private readonly options: TreeOptions = {}
  ) {
    this.root.li.dataset.objectiveId = objectiveId;
    this.cancel = new CancelControl(session.backend, objectiveId);
    this.root.li.querySelector('.om-tree-row')?.append(
      h('span', { class: 'om-tree-name' }, `objective ${objectiveId}`), this.state, this.elapsed,
      this.total, this.parts, this.cancel.el);
    this.root.children.append(this.scope, this.plan.li, this.changes.li, this.error);
    this.el = h('div', { class: 'om-view om-tree-view' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Execution tree'), this.title, this.pill),
      this.empty,
      h('ul', { class: 'om-tree', role: 'tree', 'aria-label': `execution tree of objective ${objectiveId}` }, this.root.li));
    this.root.li.hidden = true;
    this.unlisten = session.listen(change => this.changed(change));
    showConnection(this.pill, session.connection, session.detail);
    this.schedule();
  }

  private changed(change: Change): void {
    if (change.connection) {
      showConnection(this.pill, this.session.connection, this.session.detail);
    }
    if (change.parts.has(this.part.key) || change.parts.has(this.options.membership?.key ?? '')) {
      profileLog()?.push({ kind: 'batch', at: performance.now(), ms: this.part.busyMs - this.busyMs });
      this.busyMs = this.part.busyMs;
      this.schedule();
    }
  }

  /** Bring the DOM up to date with the part (called once per frame at most). */
  render(): void {
    const node = this.part.objectives.get(this.objectiveId);
    this.root.li.hidden = !node;
    this.empty.hidden = Boolean(node);
    if (!node) {
      return;
    }
    if (node.rev !== this.rev) {
      this.rev = node.rev;
      this.header(node);
    }
    this.renderTasks(node);
    this.renderChanges(node);
    this.renderSpending(node);
  }

  /** The one total (the engine's, see `ObjectivesPart.spending`) and its parts. */
  private renderSpending(node: ObjectiveNode): void {
    const spending = this.part.spending(node);
    setText(this.total, amountText(spending.total));
    markAmount(this.total, spending.total);
    const parts = partsText(spending);
    setText(this.parts, parts && `(${parts})`);
  }

  private header(node: ObjectiveNode): void {
    setText(this.title, node.title);
    showState(this.state, node.state, this.root.li);
    this.state.title = node.reason;
    this.ticker.show(this.elapsed, node.created, node.ended);
    this.cancel.show(node.state, !node.mirror); // a host's objective: read-only here
    setText(this.scope, node.scope.length
      ? `scope: ${clip(node.scope.join(', '), 200)}${node.complexity ? ` (${node.complexity})` : ''}` : 'scope: …');
    const [done, total] = this.part.progress(node);
    setText(this.planLabel, total ? `plan · round ${node.round} · ${done}/${total} tasks ended` : 'plan: …');
    setText(this.error, node.error ? `error: ${node.error}` : '');
    this.error.hidden = !node.error;
    this.changes.li.hidden = node.changes.size === 0;
  }

  private renderTasks(node: ObjectiveNode): void {
    for (const task of this.part.tasks(node)) {
      let view = this.tasks.get(task.id);
      if (!view) {
        view = new TaskView(task, this.ticker);
        this.tasks.set(task.id, view);
        this.plan.children.append(view.li);
      }
      view.render(task, this.part, this.options.stepWindow ?? 100);
    }
  }

  private renderChanges(node: ObjectiveNode): void {
    const membership = node.mirror ? this.options.membership : undefined;
    for (const change of node.changes.values()) {
      let view = this.changeViews.get(change.id);
      if (!view) {
        const review = membership && new PartyReview(this.session.backend, change.id, node.via);
        view = new ChangeView(change, node.mirror ? undefined : this.options.onOpenChange, review);
        this.changeViews.set(change.id, view);
        this.changes.children.append(view.li);
      }
      view.render(change, membership?.reviews(node.via));
    }
  }

  dispose(): void {
    this.unlisten();
    this.ticker.dispose();
  }
}

/**
 * `VIEWS.tree` of the widget bundle: trait `objective` (its id). A change node's "diff"
 * opens that change's `DiffView` under the tree (one at a time).
 */
export const treeWidgetView: ViewFactory = ({ model, backend, el, session }) => {
  const live = session();
  const objective = String(model.get('objective'));
  const part = live.addPart(new ObjectivesPart({ detail: true, only: objective }));
  let diff: DiffView | null = null;
  const onOpenChange = (id: string) => {
    diff?.dispose();
    diff?.el.remove();
    diff = new DiffView(backend, id);
    el.append(diff.el);
  };
  const tree = new ExecutionTree(live, part, objective, { onOpenChange });
  return { nodes: [tree.el], dispose: () => (tree.dispose(), diff?.dispose()) };
};
