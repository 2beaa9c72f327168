/**
 * Wire schema of events: the TypeScript mirror of `overmind_jupyter/events.py`.
 *
 * An event is `{seq, ts, type, mission, objective, party, data}`; `seq` increases by one
 * per appended event, `ts` is wall-clock epoch seconds. `parseEvent` validates one decoded
 * JSON value against this schema; `parseFrame` validates one websocket frame of
 * `server/events_ws.py`. A test round-trips samples of every type through both sides.
 */

/** Every event type, in the order of `events.py`. */
export const EVENT_TYPES = [
  'mission-created', 'mission-status', 'mission-restart', 'mission-adopted',
  'mission-stalled', 'mission-child-failed', 'engine-started', 'engine-stopping',
  'agent-session', 'agent-prompt', 'agent-thinking', 'agent-message', 'agent-progress',
  'tool-use',
  'tool-result', 'agent-plan', 'agent-usage', 'agent-context', 'agent-liveness',
  'agent-finished', 'question-asked', 'question-answered', 'message', 'party-opened',
  'party-closed', 'member-joined', 'member-approved', 'member-left', 'member-kicked', 'member-presence',
  'invite-created', 'invite-revoked', 'prompt-queued', 'prompt-status',
  'objective-created', 'objective-status', 'scope-ready', 'plan-ready', 'task-status',
  'agent-spawned', 'change-status', 'verification', 'run-complete', 'run-error',
  'mission-orphan', 'objectives-reconciled'
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** One event as stored and sent. `data`'s shape depends on `type` (see `DATA_FIELDS`). */
export interface OvermindEvent<T extends string = EventType> {
  seq: number;
  ts: number;
  type: T;
  mission: string | null;
  objective: string | null;
  party: string | null;
  data: Record<string, unknown>;
}

/** A question as in `orchestrator/questions.py` `Question.to_dict()`. */
export interface Question {
  id: string;
  kind: string;
  text: string;
  options: string[];
  mission: string | null;
  objective?: string | null;
  asked_at: number;
  state?: string;
  answer: string | null;
  answered_by?: string | null;
  data: Record<string, unknown>;
}

/** Frames the event websocket sends (server → client). */
export type Frame =
  | { type: 'events'; events: OvermindEvent<string>[] }
  | { type: 'resync'; after: number }
  | { type: 'error'; message: string }
  | { type: 'pong' };

/** Kind of a data field: a JSON type, `any`, and `?` for "may be absent or null". */
type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'any';
type FieldSpec = Kind | `${Kind}?`;

const S = 'string', N = 'number', B = 'boolean', A = 'array', O = 'object';
const S_ = 'string?', N_ = 'number?', A_ = 'array?', O_ = 'object?', X_ = 'any?';
type Fields = Record<string, FieldSpec>;
const TEXT = { text: S } as const;
const TOOL: Fields = { id: S, title: S_, kind: S_, status: S_, input: X_, paths: A_, output: X_ };
const PARTY = { name: S, host: S } as const;
const MEMBER = { member: 'any' } as const;
const INVITE = { id: S, code: S_, expires_at: N_ } as const;
const PROMPT = { id: S, member: S, status: S, text: S_ } as const;

/** Required (and typed optional) data fields of each event type, from `events.py`. */
export const DATA_FIELDS: Record<EventType, Fields> = {
  'mission-created': { name: S, kind: S, command: A, parent: S_ },
  'mission-status': { status: S, previous: S_, reason: S_, pid: N_, exit: O_ },
  'mission-restart': { attempt: N, delay_s: N, reason: S_ },
  'mission-adopted': { pid: N, note: S_ },
  'mission-stalled': { idle_s: N },
  'mission-child-failed': { child: S, reason: S_ },
  'engine-started': { adopted: A, lost: A },
  'engine-stopping': {},
  'agent-session': { session_id: S, agent: S_, title: S_, loaded: 'boolean?' },
  'agent-prompt': TEXT,
  'agent-thinking': TEXT,
  'agent-message': TEXT,
  'agent-progress': { text: S, percent: N_ },
  'tool-use': TOOL,
  'tool-result': TOOL,
  'agent-plan': { entries: A },
  'agent-usage': {
    input_tokens: N, output_tokens: N, cached_tokens: N, cost_usd: N_, model: S_, scope: S
  },
  'agent-context': { used_tokens: N, size_tokens: N },
  'agent-liveness': { state: S },
  'agent-finished': { stop_reason: S, changed: A_, guard: X_, error: S_, usage: O_ },
  'question-asked': {
    id: S, kind: S, text: S, options: A, mission: S_, asked_at: N, answer: S_, data: O
  },
  'question-answered': { id: S, answer: S_, by: S_, state: S_ },
  message: { id: S, sender: S, recipient: S, text: S },
  'party-opened': PARTY,
  'party-closed': PARTY,
  'member-joined': MEMBER,
  'member-approved': MEMBER,
  'member-left': MEMBER,
  'member-kicked': MEMBER,
  'member-presence': { member: S, name: S, role: S, state: S, connected: B },
  'invite-created': INVITE,
  'invite-revoked': INVITE,
  'prompt-queued': PROMPT,
  'prompt-status': PROMPT,
  'objective-created': { id: S, title: S, prompts: A, story: X_ },
  'objective-status': { state: S, previous: S_, reason: S_ },
  'scope-ready': { files: A, complexity: S },
  'plan-ready': { round: N, tasks: A },
  'task-status': { task: S, name: S, state: S, previous: S_, reason: S_ },
  'agent-spawned': { task: S, name: S, agent: S, workspace: S, branch: S },
  'change-status': { change: S, task: S_, state: S, previous: S_, reason: S_, merge_commit: S_ },
  verification: { change: S, command: 'any', ok: B, exit_code: N_, output_tail: S },
  'run-complete': { objective: S, tasks: 'any', changes: 'any', merged: 'any', usage: 'any' },
  'run-error': { objective: S, error: S },
  'mission-orphan': { reason: S },
  'objectives-reconciled': {
    orphans: A, tasks: A, changes: A, resumed: A, asked: A, duration_ms: N
  }
};

/** Raised for a value that does not match the wire schema. */
export class WireError extends Error {
  name = 'WireError';
}

const KNOWN = new Set<string>(EVENT_TYPES);

/** True when `type` is one of `EVENT_TYPES` (newer servers may send others). */
export function isKnownType(type: string): type is EventType {
  return KNOWN.has(type);
}

function kindOf(value: unknown): Kind {
  if (Array.isArray(value)) {
    return 'array';
  }
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

function checkField(type: string, key: string, spec: FieldSpec, value: unknown): void {
  const optional = spec.endsWith('?');
  const kind = (optional ? spec.slice(0, -1) : spec) as Kind;
  if (value === undefined || value === null) {
    if (!optional) {
      throw new WireError(`${type}: data.${key} is missing`);
    }
    return;
  }
  if (kind !== 'any' && kindOf(value) !== kind) {
    throw new WireError(`${type}: data.${key} should be ${kind}, not ${kindOf(value)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nullableString(value: unknown): boolean {
  return value === null || typeof value === 'string';
}

/**
 * Validate one decoded event. Unknown types pass with their envelope checked (so a newer
 * server does not break an older UI); known types also get their data fields checked.
 *
 * @throws WireError when the envelope or a known type's data does not match.
 */
export function parseEvent(value: unknown): OvermindEvent<string> {
  if (!isRecord(value)) {
    throw new WireError('an event must be a JSON object');
  }
  const { seq, ts, type, data } = value;
  if (!Number.isInteger(seq) || (seq as number) < 0) {
    throw new WireError('event.seq must be an integer ≥ 0');
  }
  if (typeof ts !== 'number' || typeof type !== 'string' || !isRecord(data)) {
    throw new WireError('event needs a number ts, a string type and an object data');
  }
  for (const field of ['mission', 'objective', 'party'] as const) {
    if (!nullableString(value[field])) {
      throw new WireError(`event.${field} must be a string or null`);
    }
  }
  if (isKnownType(type)) {
    for (const [key, spec] of Object.entries(DATA_FIELDS[type])) {
      checkField(type, key, spec, data[key]);
    }
  }
  return value as unknown as OvermindEvent<string>;
}

/**
 * Validate one websocket frame (already JSON-decoded).
 *
 * @throws WireError for an unknown frame type or a malformed event.
 */
export function parseFrame(value: unknown): Frame {
  if (!isRecord(value)) {
    throw new WireError('a frame must be a JSON object');
  }
  switch (value.type) {
    case 'events':
      if (!Array.isArray(value.events)) {
        throw new WireError('events frame without an events array');
      }
      return { type: 'events', events: value.events.map(parseEvent) };
    case 'resync':
      if (!Number.isInteger(value.after)) {
        throw new WireError('resync frame without an integer after');
      }
      return { type: 'resync', after: value.after as number };
    case 'error':
      return { type: 'error', message: String(value.message ?? '') };
    case 'pong':
      return { type: 'pong' };
    default:
      throw new WireError(`unknown frame type ${String(value.type)}`);
  }
}
