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
 */
import { type AgentNode, AGENT_TYPES, addUsage, applyAgentEvent, type Data, newAgent, noUsage,
  str, strings, type Usage } from './agentsteps';
import type { Backend } from './backend';
import type { OvermindEvent } from './events';
import type { Part } from './session';

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
  rev: number;
}

export interface ChangeNode {
  id: string;
  state: string;
  reason: string;
  files: string[];
  verification: { ok: boolean; command: string; exitCode: number | null; tail: string } | null;
  rev: number;
}

export interface ObjectiveNode {
  id: string;
  title: string;
  state: string;
  reason: string;
  created: number;
  scope: string[];
  complexity: string;
  round: number;
  tasks: Map<string, TaskNode>;
  changes: Map<string, ChangeNode>;
  /** Whole objective (planning included), from `spent` or `run-complete`; null: unknown. */
  spent: { tokens: number; cost: number } | null;
  error: string;
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
  private readonly detail: boolean;

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
    if (o.spent && typeof o.spent === 'object') {
      node.spent = { tokens: Number(o.spent.tokens) || 0, cost: Number(o.spent.cost_usd) || 0 };
    }
    return node;
  }

  private objectiveNode(id: string, title: string, created: number): ObjectiveNode {
    let node = this.objectives.get(id);
    if (!node) {
      node = {
        id, title, state: 'queued', reason: '', created, scope: [], complexity: '', round: 0,
        tasks: new Map(), changes: new Map(), spent: null, error: '', seq: 0, rev: 0
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
    return false;
  }

  private wanted(id: string): boolean {
    return !this.options.only || this.options.only === id;
  }

  private applyObjective(e: OvermindEvent<string>, d: Data): boolean {
    const id = e.objective as string;
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
        this.taskStatus(node, d);
        break;
      case 'agent-spawned':
        this.spawned(node, e, d);
        break;
      case 'change-status':
      case 'verification':
        this.changeEvent(node, e.type, d);
        break;
      case 'run-complete':
        if (d.usage && typeof d.usage === 'object') {
          node.spent = { tokens: Number(d.usage.tokens) || 0, cost: Number(d.usage.cost_usd) || 0 };
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
        round: node.round, missions: [], rev: 0
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

  private taskStatus(node: ObjectiveNode, d: Data): void {
    const task = this.task(node, str(d.task), str(d.name));
    task.state = str(d.state);
    task.reason = str(d.reason);
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
      change = { id, state: 'open', reason: '', files: [], verification: null, rev: 0 };
      node.changes.set(id, change);
    }
    change.rev++;
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

  /** Summed usage of an objective's agents (planning excluded: see `spent`). */
  objectiveUsage(node: ObjectiveNode): Usage {
    return [...node.tasks.values()].reduce((sum, t) => addUsage(sum, this.taskUsage(t)), noUsage());
  }
}
