/**
 * The leaves of the objectives tree: one agent mission's node and its steps (tool calls,
 * thinking, messages, its prompt), with token usage and cost, kept from the agent's events
 * (`mission-created`, `mission-status`, `agent-*`, `tool-use`, `tool-result`).
 *
 * `ObjectivesPart` (objectives.ts) links an agent to its task on `agent-spawned` and hands
 * every agent event here: `applyAgentEvent` updates one `AgentNode` in place and bumps the
 * `rev` of what changed, so the views re-render only those nodes. Event shapes:
 * `overmind_jupyter/events.py`.
 */
import type { OvermindEvent } from './events';

/** Tokens and cost (USD) of a node. `cost` sums the priced turns; `unpriced` counts the
 * tokens of turns whose model has no price (their cost is unknown, not 0). */
export interface Usage {
  input: number;
  output: number;
  cached: number;
  cost: number;
  unpriced: number;
}

/** Spending as shown: tokens, USD of the priced part, tokens of turns without a price. */
export interface Amount {
  tokens: number;
  cost: number;
  unpriced: number;
}

/** `u` as an `Amount`. */
export function amountOf(u: Usage): Amount {
  return { tokens: u.input + u.output, cost: u.cost, unpriced: u.unpriced };
}

/** One file edit of a tool call: ACP `diff` content (`old` null: a new file). */
export interface EditDiff {
  path: string;
  old: string | null;
  new: string;
}

/** One tool call: `start` / `end` are event timestamps (epoch s). */
export interface ToolStep {
  kind: 'tool';
  id: string;
  title: string;
  toolKind: string;
  /** What it acted on: the first path, or a command / path from its input. */
  target: string;
  status: string;
  start: number;
  end: number | null;
  input: unknown;
  /** File edits the agent reported (ACP `diff` content, event field `diffs`). */
  diffs: EditDiff[];
  /** The result preview (the runtime clips it to 2,000 characters). */
  output: string;
  rev: number;
}

/** Agent text: consecutive chunks of one kind are merged into one step. */
export interface TextStep {
  kind: 'thinking' | 'message' | 'prompt';
  text: string;
  start: number;
  rev: number;
}

export type Step = ToolStep | TextStep;

export interface AgentNode {
  mission: string;
  name: string;
  agent: string;
  task: string | null;
  objective: string | null;
  status: string;
  liveness: string;
  branch: string;
  steps: Step[];
  tools: Map<string, ToolStep>;
  toolCount: number;
  usage: Usage;
  stopReason: string | null;
  started: number;
  ended: number | null;
  seq: number;
  rev: number;
}

/** Event data as it comes off the wire (shapes: events.py). */
export type Data = Record<string, any>;

/** The event types `applyAgentEvent` handles. */
export const AGENT_TYPES = new Set([
  'mission-created', 'mission-status', 'agent-prompt', 'agent-thinking', 'agent-message',
  'tool-use', 'tool-result', 'agent-usage', 'agent-liveness', 'agent-finished'
]);
const TEXT_KINDS: Record<string, TextStep['kind']> = {
  'agent-prompt': 'prompt', 'agent-thinking': 'thinking', 'agent-message': 'message'
};
const ENDED = ['exited', 'failed', 'killed', 'lost'];

/** `value` as a string ('' for undefined / null). */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

/** `value` as a list of strings ([] when it is no array). */
export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(str) : [];
}

/** Zero usage. */
export function noUsage(): Usage {
  return { input: 0, output: 0, cached: 0, cost: 0, unpriced: 0 };
}

/** The usage of one `agent-usage` event's data (`cost_usd` null: an unpriced model). */
export function usageOf(d: Data): Usage {
  const u = { ...noUsage(), input: Number(d.input_tokens) || 0, output: Number(d.output_tokens) || 0,
    cached: Number(d.cached_tokens) || 0 };
  if (typeof d.cost_usd === 'number') {
    u.cost = d.cost_usd;
  } else {
    u.unpriced = u.input + u.output;
  }
  return u;
}

/** `a += b`, returning `a`. */
export function addUsage(a: Usage, b: Usage): Usage {
  a.input += b.input;
  a.output += b.output;
  a.cached += b.cached;
  a.cost += b.cost;
  a.unpriced += b.unpriced;
  return a;
}

/** What a tool call acted on: its first path, else `path` / `command` of its input. */
export function toolTarget(d: Data): string {
  const paths = strings(d.paths);
  if (paths.length) {
    return paths[0];
  }
  const input = d.input && typeof d.input === 'object' ? (d.input as Data) : {};
  const found = input.path ?? input.file_path ?? input.command ?? input.cmd ?? input.url ?? '';
  return Array.isArray(found) ? found.map(str).join(' ') : str(found);
}

/** A new, empty agent node for `mission`, first seen at `ts` (epoch s). */
export function newAgent(mission: string, ts: number): AgentNode {
  return {
    mission, name: '', agent: '', task: null, objective: null, status: 'pending', liveness: '',
    branch: '', steps: [], tools: new Map(), toolCount: 0, usage: noUsage(), stopReason: null,
    started: ts, ended: null, seq: 0, rev: 0
  };
}

/** Apply one agent event (a type of `AGENT_TYPES`) to `agent`; the caller checks seq. */
export function applyAgentEvent(agent: AgentNode, e: OvermindEvent<string>, d: Data): void {
  switch (e.type) {
    case 'mission-created':
      // the mission's own name wins over the task's, which a replay may have met first
      agent.name = str(d.name) || agent.name;
      agent.started = Math.min(agent.started, e.ts); // a replay meets `agent-spawned` first
      break;
    case 'mission-status':
      agent.status = str(d.status);
      agent.ended = ENDED.includes(agent.status) ? e.ts : null;
      break;
    case 'agent-liveness':
      agent.liveness = str(d.state);
      break;
    case 'tool-use':
    case 'tool-result':
      tool(agent, e, d);
      break;
    case 'agent-usage':
      addUsage(agent.usage, usageOf(d));
      break;
    case 'agent-finished':
      agent.stopReason = str(d.stop_reason) || str(d.error);
      break;
    default:
      text(agent, TEXT_KINDS[e.type], str(d.text), e.ts);
  }
}

function text(agent: AgentNode, kind: TextStep['kind'] | undefined, chunk: string, ts: number): void {
  if (!kind) {
    return;
  }
  const last = agent.steps[agent.steps.length - 1];
  if (last && last.kind === kind && kind !== 'prompt') {
    last.text += chunk; // a streamed chunk of the same message
    last.rev++;
    return;
  }
  agent.steps.push({ kind, text: chunk, start: ts, rev: 0 });
}

function tool(agent: AgentNode, e: OvermindEvent<string>, d: Data): void {
  const id = str(d.id);
  let step = agent.tools.get(id);
  if (!step) {
    step = {
      kind: 'tool', id, title: '', toolKind: '', target: '', status: 'pending', start: e.ts,
      end: null, input: null, diffs: [], output: '', rev: 0
    };
    agent.tools.set(id, step);
    agent.steps.push(step);
    agent.toolCount++;
  }
  step.rev++;
  step.title = str(d.title) || step.title || id;
  step.toolKind = str(d.kind) || step.toolKind;
  step.status = str(d.status) || step.status;
  step.input = d.input ?? step.input;
  step.diffs = Array.isArray(d.diffs) ? editDiffs(d.diffs) : step.diffs;
  step.target = toolTarget(d) || step.target;
  if (e.type === 'tool-result') {
    step.end = e.ts;
    step.output = str(d.output);
  }
}

function editDiffs(items: unknown[]): EditDiff[] {
  return items.filter((d): d is Data => Boolean(d) && typeof d === 'object')
    .map(d => ({ path: str(d.path), old: typeof d.old_text === 'string' ? d.old_text : null, new: str(d.new_text) }));
}
