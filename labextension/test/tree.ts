// The objectives reducer (src/objectives.ts, src/agentsteps.ts), driven by tests/widgets/test_tree_widget.py:
// reads {events, objective, snapshot_at, replay_from} (argv[2]) and prints the outline of
// the objective's tree built four ways: live (every event once, in order), replay (a
// snapshot loaded through `load` from the events up to `snapshot_at`, then the live
// events after `replay_from` — an overlap, as the session has), twice (every event
// applied two times) and summary (detail off: no agents). Also whether the second pass
// of `twice` reported any change. The objective's line has its end (ts) and its one total,
// so live, replay, twice and summary must agree on them too.
import { readFileSync } from 'node:fs';
import type { Step } from '../src/agentsteps';
import type { Backend } from '../src/backend';
import type { OvermindEvent } from '../src/events';
import { ObjectivesPart } from '../src/objectives';

type Ev = OvermindEvent<string>;
const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const events: Ev[] = input.events;
const id: string = input.objective;

function stepLine(s: Step): string {
  if (s.kind === 'tool') {
    const took = s.end === null ? 'open' : 'timed';
    return `${s.kind} ${s.title} [${s.target}] ${s.status} ${took} ${JSON.stringify(s.output.slice(0, 40))}`;
  }
  return `${s.kind} ${JSON.stringify(s.text.slice(0, 40))}`;
}

function outline(part: ObjectivesPart): string[] {
  const node = part.objectives.get(id);
  if (!node) {
    return [];
  }
  const [done, total] = part.progress(node);
  const out = [`objective ${node.title} ${node.state} scope=${node.scope.join(',')} ` +
    `round=${node.round} progress=${done}/${total} spent=${JSON.stringify(node.spent)} ` +
    `ended=${node.ended} total=${JSON.stringify(part.spending(node).total)}`];
  for (const t of part.tasks(node)) {
    const u = part.taskUsage(t);
    out.push(`  task ${t.name} ${t.state} agents=${t.missions.length} tokens=${u.input + u.output}`);
    for (const m of t.missions) {
      const a = part.agents.get(m);
      if (a) {
        out.push(`    agent ${a.agent} ${a.status} tools=${a.toolCount} stop=${a.stopReason}`);
        out.push(...a.steps.map(s => `      ${stepLine(s)}`));
      }
    }
  }
  for (const c of node.changes.values()) {
    out.push(`  change ${c.state} files=${c.files.join(',')}`);
  }
  return out;
}

function backendUpTo(seq: number): Backend {
  const known = events.filter(e => e.seq <= seq);
  const call = async (_method: string, path: string): Promise<unknown> => {
    const url = new URL(path, 'http://x/');
    if (url.pathname === '/objectives') {
      const created = known.filter(e => e.type === 'objective-created');
      return { objectives: created.map(e => ({ id: e.objective, title: e.data.title, state: 'queued', created_at: e.ts })) };
    }
    const after = Number(url.searchParams.get('after'));
    const limit = Number(url.searchParams.get('limit'));
    const [key, value] = [...url.searchParams.entries()].find(([k]) => k === 'objective' || k === 'mission') ?? [];
    const found = known.filter(e => e.seq > after && (e as any)[key as string] === value);
    return { events: found.slice(0, limit), last_seq: seq };
  };
  return { call } as unknown as Backend;
}

async function main(): Promise<void> {
  const live = new ObjectivesPart({ only: id });
  events.forEach(e => live.apply(e));
  const replay = new ObjectivesPart({ only: id });
  await replay.load(backendUpTo(input.snapshot_at));
  events.filter(e => e.seq > input.replay_from).forEach(e => replay.apply(e));
  const twice = new ObjectivesPart();
  events.forEach(e => twice.apply(e));
  const changedAgain = events.map(e => twice.apply(e)).some(Boolean);
  const summary = new ObjectivesPart({ detail: false });
  events.forEach(e => summary.apply(e));
  process.stdout.write(JSON.stringify({
    live: outline(live), replay: outline(replay), twice: outline(twice),
    summary: outline(summary), summaryAgents: summary.agents.size, changedAgain
  }));
}

void main();
