/**
 * Wire schema of events: the TypeScript mirror of `overmind_jupyter/events.py`.
 *
 * An event is `{seq, ts, type, mission, objective, party, data}`; `seq` increases by one
 * per appended event, `ts` is wall-clock epoch seconds. `parseEvent` validates one decoded
 * JSON value against this schema; `parseFrame` validates one websocket frame of
 * `server/events_ws.py`. The types and their data fields are generated from `events.py`
 * (`events.gen.ts`); a test round-trips samples of every type through both sides.
 */

import { DATA_FIELDS, EVENT_TYPES, type EventType, type FieldSpec } from './events.gen';

export { DATA_FIELDS, EVENT_TYPES, type EventType, type FieldSpec };


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

/** Kind of a data field: a JSON type or `any` (`FieldSpec` adds `?`: absent or null). */
type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object' | 'any';

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
