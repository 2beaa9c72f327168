/**
 * Objectives as a live tree, kept from events: objective → plan → tasks → agent missions
 * → steps (tool calls, thinking, messages), with token usage and cost per node.
 *
 * `ObjectivesPart` is a session `Part` (key `objectives`). Its snapshot is a replay: the
 * objective list (`GET objectives`), then each objective's own events
 * (`GET events?objective=ID`) and, in detail mode, each agent mission's events
 * (`GET events?mission=ID`), fed to the same reducer as live events — so a reloaded tree
 * is the live tree. Every node remembers the last seq it applied and skips older ones,
 * which makes the reducer idempotent under the session's overlapping replay.
 *
 * Event shapes: `overmind_jupyter/events.py`. Agent events (tool-use …) carry only the
 * mission; `agent-spawned` (objective + mission) links a mission to its task. The agent
 * nodes and their steps are reduced in `agentsteps.ts`.
 *
 * Spending (`spending.ts`): the objective's one total, split into its roles' and its
 * agents' usage. Without agents' events (the sidebar, `detail` false) an objective's
 * `spent` is re-read (`refreshSpent`) after usage events of it, so its total stays what
 * the engine says.
 */
import { type AgentNode, AGENT_TYPES, addUsage, applyAgentEvent, type Data, newAgent, noUsage, str,
  strings, type Usage, usageOf } from './agentsteps';
import type { Backend } from './backend';
import type { OvermindEvent } from './events';
import type { Part } from './session';
import { type Spending, type Spent, splitSpending } from './spending';

export interface TaskNode {
  id: string;
  name: string;
  description: string;
  state: string;
  reason: string;
  scope: string[];
  dependsOn: string[];
  round: number;
  missions: string[];
  /** Where its agent runs (`agent-spawned` target: `local` or a hub target); '' before. */
  target: string;
  /** Why it runs here although placed on a hub target (`agent-spawned` fallback). */
  fallback: string;
  /** ts (epoch s) of its first `running` status; null: not started. */
  started: number | null;
  /** ts of its ending status (done / failed / cancelled); null: not ended. */
  ended: number | null;
  rev: number;
}

export interface ChangeNode {
  id: string;
  state: string;
  reason: string;
  files: string[];
  verification: { ok: boolean; command: string; exitCode: number | null; tail: string } | null;
  /** The pre-review check's outcome (`change-checked` state), '' before one. */
  check: string;
  /** Its one line for the reviewer (`tests passed on main@1a2b3c4d (0.9 s)`), '' before one. */
  checkMessage: string;
  rev: number;
}

export interface ObjectiveNode {
  id: string;
  title: string;
  state: string;
  reason: string;
  created: number;
  /** ts of the status that ended it (done / failed / cancelled); null while it runs. */
  ended: number | null;
  scope: string[];
  complexity: string;
  round: number;
  tasks: Map<string, TaskNode>;
  changes: Map<string, ChangeNode>;
  /** Whole objective (planning included), from `spent` or `run-complete`; null: unknown. */
  spent: Spent | null;
  /** `spent` is the final figure: read after the objective ended, or from `run-complete`. */
  spentFinal: boolean;
  /** Its roles' model calls (story, scope, planner, evaluator), from their events. */
  roles: Usage;
  error: string;
  /** Mirrored from the host of a party this engine joined: watched, never acted on here
   * (its changes and its cancel live on the host). */
  mirror: boolean;
  /** Of a mirrored objective: the local member name of the party link it came through
   * (`data.mirror.via`; `MembershipPart.role(via)` is this guest's role there); '' here. */
  via: string;
  seq: number;
  rev: number;
}

export interface ObjectivesOptions {
  /** Keep agents' steps (the tree); false: objectives, tasks and changes only (sidebar). */
  detail?: boolean;
  /** Only this objective (id). */
  only?: string;
  /** Snapshot: how many of the latest objectives to replay (default 50). */
  recent?: number;
}

const PAGE = 10_000; // the events route's largest page
const ENDED = new Set(['done', 'failed', 'cancelled']); // objectives' and tasks' ends

/** An objective's `spent` from its JSON (`{tokens, cost_usd}`). */
function spentOf(spent: Data): Spent {
  return { tokens: Number(spent.tokens) || 0, cost: Number(spent.cost_usd) || 0 };
}

/** What a state reads as where its name alone would puzzle (`checking`: the pre-review
 * tests of changes held for review). */
export function stateLabel(state: string): string {
  return state === 'checking' ? 'testing changes before review' : state;
}

/** All events of `filter` (`objective=ID` / `mission=ID`), page after page. */
export async function replayEvents(backend: Backend, filter: string): Promise<OvermindEvent<string>[]> {
  const out: OvermindEvent<string>[] = [];
  for (let after = 0; ;) {
    const page = await backend.call<{ events: OvermindEvent<string>[] }>(
      'GET', `events?${filter}&after=${after}&limit=${PAGE}`);
    out.push(...page.events);
    if (page.events.length < PAGE) {
      return out;
    }
    after = page.events[page.events.length - 1].seq;
  }
}

/** The objectives of one engine as trees, applying events (see the module comment). */
export class ObjectivesPart implements Part {
  readonly key = 'objectives';
  readonly objectives = new Map<string, ObjectiveNode>();
  readonly agents = new Map<string, AgentNode>();
  /** Main-thread time spent in `apply` so far (ms): what the tree's live updates cost. */
  busyMs = 0;
  /** Objectives whose `spent` may have grown since it was read (see `refreshSpent`). */
  readonly staleSpent = new Set<string>();
  private readonly detail: boolean;
  private readonly missionObjective = new Map<string, string>();

  constructor(readonly options: ObjectivesOptions = {}) {
    this.detail = options.detail ?? true;
  }

  /** Replay the latest objectives (and, in detail mode, their agents' events). */
  async load(backend: Backend): Promise<void> {
    const { objectives } = await backend.call<{ objectives: Data[] }>('GET', 'objectives');
    const picked = this.options.only
      ? objectives.filter(o => o.id === this.options.only)
      : objectives.slice(-(this.options.recent ?? 50));
    for (const o of picked) {
      this.seed(o);
    }
    const streams = await Promise.all(picked.map(o => replayEvents(backend, `objective=${encodeURIComponent(o.id)}`)));
    streams.flat().sort((a, b) => a.seq - b.seq).forEach(e => this.apply(e));
    if (this.detail) {
      const missions = [...this.agents.keys()];
      const more = await Promise.all(missions.map(m => replayEvents(backend, `mission=${encodeURIComponent(m)}`)));
      more.flat().sort((a, b) => a.seq - b.seq).forEach(e => this.apply(e));
    }
  }

  /** An objective node from its record (`objective` JSON shape). */
  private seed(o: Data): ObjectiveNode {
    const node = this.objectiveNode(str(o.id), str(o.title), Number(o.created_at) || 0);
    node.state = str(o.state) || node.state;
    node.error = str(o.error);
    node.mirror = Boolean(o.mirror);
    node.via = str((o.mirror as Data | undefined)?.via) || node.via;
    this.seedSpent(o);
    return node;
  }

  private objectiveNode(id: string, title: string, created: number): ObjectiveNode {
    let node = this.objectives.get(id);
    if (!node) {
      node = {
        id, title, state: 'queued', reason: '', created, ended: null, scope: [], complexity: '',
        round: 0, tasks: new Map(), changes: new Map(), spent: null, spentFinal: false,
        roles: noUsage(), error: '', mirror: false, via: '', seq: 0, rev: 0
      };
      this.objectives.set(id, node);
    }
    return node;
  }

  /** Apply one event; true when a node changed. Its time adds to `busyMs`. */
  apply(e: OvermindEvent<string>): boolean {
    const began = performance.now();
    const changed = this.reduce(e);
    this.busyMs += performance.now() - began;
    return changed;
  }

  private reduce(e: OvermindEvent<string>): boolean {
    if (e.objective) {
      return this.applyObjective(e, e.data as Data);
    }
    if (e.mission && this.detail && AGENT_TYPES.has(e.type)) {
      return this.applyAgent(e, e.data as Data);
    }
    if (e.type === 'agent-usage' && e.mission) {
      const node = this.objectives.get(this.missionObjective.get(e.mission) ?? '');
      return node ? this.markSpent(node) : false;
    }
    return false;
  }

  /** Without agents' events: note that `node`'s `spent` grew (true: it may have). Its
   * final figure is read once more after it ended (`run-complete` has it; a cancel not). */
  private markSpent(node: ObjectiveNode): boolean {
    if (this.detail || node.spentFinal) {
      return false;
    }
    this.staleSpent.add(node.id);
    return true;
  }

  /** Re-read the `spent` of the objectives in `staleSpent`; true when one changed. */
  async refreshSpent(backend: Backend): Promise<boolean> {
    const ids = [...this.staleSpent];
    this.staleSpent.clear();
    const records = await Promise.all(ids.map(id => backend.call<Data>('GET', `objectives/${encodeURIComponent(id)}`)));
    return records.map(r => this.seedSpent(r)).some(Boolean);
  }

  /** `spent` of an objective record onto its node; true when it changed. */
  private seedSpent(o: Data): boolean {
    const node = this.objectives.get(str(o.id));
    if (!node || !o.spent || typeof o.spent !== 'object') {
      return false;
    }
    const spent = spentOf(o.spent);
    const final = ENDED.has(str(o.state));
    if (node.spent?.tokens === spent.tokens && node.spent.cost === spent.cost && node.spentFinal === final) {
      return false;
    }
    node.spent = spent;
    node.spentFinal = final;
    node.rev++;
    return true;
  }

  private wanted(id: string): boolean {
    return !this.options.only || this.options.only === id;
  }

  private applyObjective(e: OvermindEvent<string>, d: Data): boolean {
    const id = e.objective as string;
    if (e.type === 'agent-spawned' && e.mission) {
      this.missionObjective.set(e.mission, id);
    }
    if (!this.wanted(id)) {
      if (e.type === 'agent-spawned' && e.mission) {
        this.agents.delete(e.mission); // another objective's agent: stop keeping its steps
      }
      return false;
    }
    const node = e.type === 'objective-created'
      ? this.objectiveNode(id, str(d.title), e.ts)
      : this.objectives.get(id);
    if (!node || e.seq <= node.seq) {
      return false;
    }
    node.seq = e.seq;
    node.rev++;
    node.mirror ||= Boolean(d.mirror);
    node.via ||= str((d.mirror as Data | undefined)?.via);
    this.objectiveEvent(node, e, d);
    return true;
  }

  private objectiveEvent(node: ObjectiveNode, e: OvermindEvent<string>, d: Data): void {
    switch (e.type) {
      case 'objective-created':
        node.title = str(d.title) || node.title;
        node.created = node.created || e.ts;
        break;
      case 'objective-status':
        node.state = str(d.state);
        node.reason = str(d.reason);
        node.ended = ENDED.has(node.state) ? e.ts : null;
        if (node.ended !== null) {
          this.markSpent(node);
        }
        break;
      case 'agent-usage': // a role's model calls (scope `role`)
        addUsage(node.roles, usageOf(d));
        this.markSpent(node);
        break;
      case 'scope-ready':
        node.scope = strings(d.files);
        node.complexity = str(d.complexity);
        break;
      case 'plan-ready':
        node.round = Number(d.round) || node.round;
        for (const t of Array.isArray(d.tasks) ? d.tasks : []) {
          this.planTask(node, t as Data, node.round);
        }
        break;
      case 'task-status':
        this.taskStatus(node, d, e.ts);
        break;
      case 'agent-spawned':
        this.spawned(node, e, d);
        break;
      case 'change-status':
      case 'verification':
      case 'change-checked':
        this.changeEvent(node, e.type, d);
        break;
      case 'run-complete':
        if (d.usage && typeof d.usage === 'object') {
          node.spent = spentOf(d.usage);
          node.spentFinal = true;
          this.staleSpent.delete(node.id);
        }
        break;
      case 'run-error':
        node.error = str(d.error);
        break;
    }
  }

  private task(node: ObjectiveNode, id: string, name: string): TaskNode {
    let task = node.tasks.get(id);
    if (!task) {
      task = {
        id, name, description: '', state: 'pending', reason: '', scope: [], dependsOn: [],
        round: node.round, missions: [], target: '', fallback: '', started: null, ended: null,
        rev: 0
      };
      node.tasks.set(id, task);
    }
    task.rev++;
    return task;
  }

  private planTask(node: ObjectiveNode, t: Data, round: number): void {
    const task = this.task(node, str(t.id), str(t.name));
    task.name = str(t.name) || task.name;
    task.description = str(t.description);
    task.scope = strings(t.scope);
    task.dependsOn = strings(t.depends_on);
    task.round = round;
  }

  private taskStatus(node: ObjectiveNode, d: Data, ts: number): void {
    const task = this.task(node, str(d.task), str(d.name));
    task.state = str(d.state);
    task.reason = str(d.reason);
    if (task.state === 'running' && task.started === null) {
      task.started = ts;
    }
    task.ended = ENDED.has(task.state) ? ts : null;
  }

  private spawned(node: ObjectiveNode, e: OvermindEvent<string>, d: Data): void {
    const task = this.task(node, str(d.task), str(d.name));
    const mission = e.mission;
    if (!mission) {
      return;
    }
    if (!task.missions.includes(mission)) {
      task.missions.push(mission);
    }
    task.target = str(d.target);
    task.fallback = str(d.fallback);
    task.rev++;
    if (this.detail) {
      const agent = this.agentNode(mission, e.ts);
      Object.assign(agent, { task: task.id, objective: node.id, agent: str(d.agent), branch: str(d.branch) });
      agent.name = agent.name || task.name;
      agent.rev++;
    }
  }

  private changeEvent(node: ObjectiveNode, type: string, d: Data): void {
    const id = str(d.change);
    let change = node.changes.get(id);
    if (!change) {
      change = { id, state: 'open', reason: '', files: [], verification: null, check: '',
        checkMessage: '', rev: 0 };
      node.changes.set(id, change);
    }
    change.rev++;
    if (type === 'change-checked') {
      change.check = str(d.state);
      change.checkMessage = str(d.message);
      return;
    }
    if (type === 'verification') {
      const command = Array.isArray(d.command) ? d.command.map(str).join(' ') : str(d.command);
      change.verification = {
        ok: Boolean(d.ok), command, exitCode: typeof d.exit_code === 'number' ? d.exit_code : null,
        tail: str(d.output_tail)
      };
      return;
    }
    change.state = str(d.state);
    change.reason = str(d.reason);
    change.files = Array.isArray(d.files) ? strings(d.files) : change.files;
  }

  private agentNode(mission: string, ts: number): AgentNode {
    let agent = this.agents.get(mission);
    if (!agent) {
      agent = newAgent(mission, ts);
      this.agents.set(mission, agent);
    }
    return agent;
  }

  private applyAgent(e: OvermindEvent<string>, d: Data): boolean {
    const mission = e.mission as string;
    const known = this.agents.get(mission);
    if (!known && !(e.type === 'mission-created' && d.kind === 'agent')) {
      return false; // not an agent mission (or one that started before this view)
    }
    const agent = known ?? this.agentNode(mission, e.ts);
    if (e.seq <= agent.seq || (this.options.only && agent.objective && agent.objective !== this.options.only)) {
      return false;
    }
    agent.seq = e.seq;
    agent.rev++;
    applyAgentEvent(agent, e, d);
    return true;
  }

  // -- derived views ---------------------------------------------------------------

  /** Objectives, newest first. */
  list(): ObjectiveNode[] {
    return [...this.objectives.values()].sort((a, b) => b.created - a.created);
  }

  /** Tasks of `node` in plan order (round, then plan position). */
  tasks(node: ObjectiveNode): TaskNode[] {
    return [...node.tasks.values()].sort((a, b) => a.round - b.round);
  }

  /** `[done, total]` tasks of an objective (cancelled and failed ones count as ended). */
  progress(node: ObjectiveNode): [number, number] {
    const ended = [...node.tasks.values()].filter(t => ['done', 'failed', 'cancelled'].includes(t.state));
    return [ended.length, node.tasks.size];
  }

  /** Summed usage of a task's agents. */
  taskUsage(task: TaskNode): Usage {
    return task.missions.reduce((sum, m) => addUsage(sum, this.agents.get(m)?.usage ?? noUsage()), noUsage());
  }

  /** Summed usage of an objective's agents (planning excluded: see `spending`). */
  objectiveUsage(node: ObjectiveNode): Usage {
    return [...node.tasks.values()].reduce((sum, t) => addUsage(sum, this.taskUsage(t)), noUsage());
  }

  /** The objective's one total and its parts (`spending.ts`). */
  spending(node: ObjectiveNode): Spending {
    return splitSpending(node.roles, this.objectiveUsage(node), node.spent, node.spentFinal);
  }
}
