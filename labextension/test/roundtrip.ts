// Round trip of the wire schema, driven by tests/widgets/test_wire.py: reads a JSON file
// {events: [...], frames: [...]} given as argv[2], validates each with events.ts, and
// prints {types, events: [{ok, value | error}], frames: [...]} as JSON on stdout, where
// `value` is the validated value encoded again.
import { readFileSync } from 'node:fs';
import { EVENT_TYPES, parseEvent, parseFrame } from '../src/events';

function attempt(fn: () => unknown): { ok: boolean; value?: unknown; error?: string } {
  try {
    return { ok: true, value: JSON.parse(JSON.stringify(fn())) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
process.stdout.write(JSON.stringify({
  types: EVENT_TYPES,
  events: input.events.map((e: unknown) => attempt(() => parseEvent(e))),
  frames: input.frames.map((f: unknown) => attempt(() => parseFrame(f)))
}));
