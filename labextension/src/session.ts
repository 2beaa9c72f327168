/**
 * The live state every view renders: missions and open questions of one engine, kept up
 * to date from events.
 *
 * `Session.start()` reads a snapshot (`status.last_seq`, then missions and questions) and
 * subscribes after that seq. Events replayed between the seq and the snapshot are applied
 * again; every reducer below is idempotent in order, so the state converges.
 */
import { type Backend, type Closer, type ConnectionState, type Mission, ApiError,
  PARTY_MEMBER } from './backend';
import type { OvermindEvent, Question } from './events';
import { clip } from './dom';

/** A mission row: the mission plus what events tell about it. */
export interface MissionRow extends Mission {
  /** Latest notable thing that happened (restart, stall, tool call, message …). */
  activity?: string;
  /** seq of the event that set `activity` (benchmarks match DOM updates to events). */
  activitySeq?: number;
}

/** What changed in one batch (so views re-render only those parts). */
export interface Change {
  missions: Set<string>;
  questions: boolean;
  connection: boolean;
  /** Keys of the `Part`s that changed. */
  parts: Set<string>;
}

/**
 * A piece of live state beyond missions and questions (objectives, changes, party …),
 * added to a `Session` with `addPart`. Its reducer must be idempotent in seq order, like
 * the session's own: events between the snapshot and the subscription are applied again.
 */
export interface Part {
  /** Reported in `Change.parts` when this part changed. */
  readonly key: string;
  /** Load the snapshot (REST through `backend.call`). */
  load(backend: Backend): Promise<void>;
  /** Apply one event; true when the part changed. */
  apply(e: OvermindEvent<string>): boolean;
}

function noChange(): Change {
  return { missions: new Set(), questions: false, connection: false, parts: new Set() };
}

type Listener = (change: Change) => void;

function summary(e: OvermindEvent<string>): string | null {
  const d = e.data as Record<string, any>;
  switch (e.type) {
    case 'mission-status':
      return d.reason ? `${d.status}: ${d.reason}` : null;
    case 'mission-restart':
      return d.reason === 'restarted by user' ? `restarted by user (#${d.attempt})`
        : `restart #${d.attempt} in ${Number(d.delay_s).toFixed(1)} s`;
    case 'mission-stalled':
      return `stalled: no output for ${Math.round(d.idle_s)} s`;
    case 'mission-child-failed':
      return `child failed: ${d.reason ?? d.child}`;
    case 'tool-use':
      return `→ ${d.title ?? d.id}`;
    case 'tool-result':
      return `${d.status === 'completed' ? '✓' : '✗'} ${d.title ?? d.id}`;
    case 'agent-message':
      return clip(String(d.text).trim().split('\n').pop() ?? '', 120) || null;
    case 'question-asked':
      return `waiting: ${clip(String(d.text), 100)}`;
    default:
      return null;
  }
}

/** Missions by id, applying mission events. */
export class MissionState {
  readonly rows = new Map<string, MissionRow>();

  /** Replace the state with a snapshot (`all`: ended ones included). */
  load(missions: Mission[]): void {
    for (const m of missions) {
      this.rows.set(m.id, { ...this.rows.get(m.id), ...m });
    }
  }

  /** Apply one event; returns true when the row of `e.mission` changed. */
  apply(e: OvermindEvent<string>): boolean {
    const id = e.mission;
    if (!id) {
      return false;
    }
    const d = e.data as Record<string, any>;
    let row = this.rows.get(id);
    if (e.type === 'mission-created' && !row) {
      row = {
        id, name: d.name, kind: d.kind, command: d.command, parent: d.parent ?? null,
        status: d.status ?? 'pending', pid: null, restarts: 0, created_at: e.ts,
        started_at: null, exit: null
      };
      this.rows.set(id, row);
      return true;
    }
    if (!row) {
      return false;
    }
    this.update(row, e, d);
    const text = summary(e);
    if (text !== null) {
      row.activity = text;
      row.activitySeq = e.seq;
    }
    return true;
  }

  private update(row: MissionRow, e: OvermindEvent<string>, d: Record<string, any>): void {
    if (e.type === 'mission-status') {
      row.status = d.status;
      row.pid = d.pid ?? row.pid;
      row.exit = d.exit ?? (d.status === 'running' ? null : row.exit);
      if (d.status === 'running' && d.previous !== 'running') {
        row.started_at = e.ts;
      }
    } else if (e.type === 'mission-restart') {
      row.restarts = Math.max(row.restarts, d.attempt);
    } else if (e.type === 'mission-adopted') {
      row.pid = d.pid;
    } else if (e.type === 'agent-liveness') {
      row.liveness = d.state;
    } else if (e.type === 'agent-usage' && e.seq > (row.usage_seq ?? 0)) {
      // counted once: the snapshot's figure covers the events up to its usage_seq
      row.tokens = (row.tokens ?? 0) + (Number(d.input_tokens) || 0) + (Number(d.output_tokens) || 0);
      row.cost_usd = typeof d.cost_usd === 'number' ? (row.cost_usd ?? 0) + d.cost_usd : (row.cost_usd ?? null);
      row.usage_seq = e.seq;
    }
  }
}

/** Open questions by id. */
export class QuestionState {
  readonly open = new Map<string, Question>();

  load(questions: Question[]): void {
    this.open.clear();
    for (const q of questions) {
      this.open.set(q.id, q);
    }
  }

  /** Apply one event; true when the set of open questions changed. */
  apply(e: OvermindEvent<string>): boolean {
    if (e.type === 'question-asked') {
      const q = e.data as unknown as Question;
      if (q.state && q.state !== 'open') {
        return false;
      }
      this.open.set(q.id, q);
      return true;
    }
    if (e.type === 'question-answered') {
      return this.open.delete(String(e.data.id));
    }
    return false;
  }
}

/** Snapshot + live events of one engine, shared by the views of one page region. */
export class Session {
  readonly missions = new MissionState();
  readonly questions = new QuestionState();
  connection: ConnectionState = 'connecting';
  detail = '';
  /**
   * Set (to the server's message) when the engine refused the snapshot with 403
   * `party-member`: the page's user is a member of the owner's party (JupyterHub), not
   * the host. The session then stops retrying; listeners get a `connection` change.
   */
  member: string | null = null;
  private listeners = new Set<Listener>();
  private parts: Part[] = [];
  private closer: Closer | null = null;
  private closed = false;
  private started = false;

  /**
   * @param backend the engine.
   * @param all include ended missions in the snapshot (`ps --all`).
   */
  constructor(
    readonly backend: Backend,
    readonly all = false
  ) {}

  /** Listen to changes; returns the unsubscribe function. */
  listen(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Add live state; its snapshot is loaded with the session's (or now, when the session
   * has already started). Returns the part.
   */
  addPart<P extends Part>(part: P): P {
    this.parts.push(part);
    if (this.started) {
      void part.load(this.backend).then(
        () => this.emit({ ...noChange(), parts: new Set([part.key]) }),
        err => this.setConnection(this.connection, `${part.key}: ${String(err)}`));
    }
    return part;
  }

  /** Load the snapshot and follow events; retries the snapshot until it succeeds. */
  async start(): Promise<void> {
    for (let delay = 250; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        const status = await this.backend.status();
        const [missions, questions] = await Promise.all([
          this.backend.missions(this.all), this.backend.questions(),
          ...this.parts.map(p => p.load(this.backend))
        ]);
        if (this.closed) {
          return; // the view went away while the snapshot was on its way
        }
        this.started = true;
        this.missions.load(missions as Mission[]);
        this.questions.load(questions as Question[]);
        this.emit({ missions: new Set((missions as Mission[]).map(m => m.id)), questions: true,
          connection: false, parts: new Set(this.parts.map(p => p.key)) });
        this.subscribe(status.last_seq);
        return;
      } catch (err) {
        if (err instanceof ApiError && err.reason === PARTY_MEMBER) {
          this.member = err.message;
          this.setConnection('disconnected', err.message);
          return;
        }
        this.setConnection('disconnected', err instanceof Error ? err.message : String(err));
        await new Promise(resolve => setTimeout(resolve, delay));
      }
    }
  }

  /** Drop an answered question now (its `question-answered` event confirms it later). */
  applyAnswered(id: string): void {
    if (this.questions.open.delete(id)) {
      this.emit({ ...noChange(), questions: true });
    }
  }

  private subscribe(after: number): void {
    this.closer = this.backend.subscribe(after, {
      events: batch => this.applyBatch(batch),
      state: (state, detail) => this.setConnection(state, detail ?? '')
    });
  }

  /** Apply a batch of events (in seq order) and tell listeners what changed. */
  applyBatch(batch: OvermindEvent<string>[]): void {
    const change = noChange();
    for (const e of batch) {
      if (this.missions.apply(e)) {
        change.missions.add(e.mission as string);
      }
      change.questions = this.questions.apply(e) || change.questions;
      for (const part of this.parts) {
        if (part.apply(e)) {
          change.parts.add(part.key);
        }
      }
    }
    if (change.missions.size || change.questions || change.parts.size) {
      this.emit(change);
    }
  }

  private setConnection(state: ConnectionState, detail: string): void {
    this.connection = state;
    this.detail = detail;
    this.emit({ ...noChange(), connection: true });
  }

  private emit(change: Change): void {
    for (const fn of this.listeners) {
      fn(change);
    }
  }

  /** Stop following events. */
  close(): void {
    this.closed = true;
    this.closer?.();
    this.listeners.clear();
  }
}
