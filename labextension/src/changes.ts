/**
 * Changes (local pull requests) as live state: `ChangesPart` is a session `Part` (key
 * `changes`) loaded from `GET changes` and kept up to date by `change-status`,
 * `verification` and `change-checked` (the pre-review check) events. A `change-status` for a change not in the snapshot (a new
 * one) fetches it (`GET changes/ID`). Each change remembers the seq of the last event
 * applied and skips older ones, so the session's overlapping replay is harmless.
 *
 * Also the JSON shapes of the review routes (`GET changes/{ref}/files`,
 * `overmind_jupyter/workspace/filediff.py`) shared by the diff view.
 */
import type { Backend } from './backend';
import type { OvermindEvent } from './events';
import type { Part } from './session';

/** A verification run of the merged result (`workspace/verify.py`). */
export interface Verification {
  command: string | string[] | null;
  ok: boolean;
  exit_code: number | null;
  output_tail: string;
}

/** The pre-review check: the change merged onto its target's tip, tests run there
 * (`kinds.ChangeCheck`); `state` passed | failed | conflicts | untested | merged-already. */
export interface ChangeCheck {
  state: string;
  target: string;
  target_commit: string;
  message: string;
  conflicts: string[];
  exit_code?: number | null;
  output_tail?: string;
  duration_s?: number | null;
  checked_at?: number;
}

/** One file of a change's `stat`: line counts (0 for binary files). */
export interface FileStat {
  path: string;
  added: number;
  deleted: number;
  binary: boolean;
}

/** A change as `GET changes` gives it (record fields + data). */
export interface Change {
  id: string;
  parent: string | null;
  state: string;
  title: string;
  task: string;
  branch: string;
  target: string;
  author: string;
  requested_by: string;
  base_commit: string;
  head?: string;
  stat: FileStat[];
  files: string[];
  merge_commit: string | null;
  verification?: Verification | null;
  check?: ChangeCheck | null;
  created_at: number;
  updated_at: number;
  /** The reason of the last state change (from events; empty after a snapshot). */
  reason?: string;
  /** Seq of the last event applied (0: from the snapshot only). */
  seq?: number;
}

/** A diff line: kind `' '`, `'+'` or `'-'`, and its text (no newline). */
export type DiffLine = [string, string];

export interface Hunk {
  old_start: number;
  old_lines: number;
  new_start: number;
  new_lines: number;
  header: string;
  lines: DiffLine[];
}

/** A notebook cell of a notebook file's diff (`workspace/nbcells.py`). */
export interface CellDiff {
  status: 'added' | 'removed' | 'modified' | 'unchanged';
  cell_type: string;
  base_index: number | null;
  head_index: number | null;
  lines: DiffLine[];
  outputs_changed: boolean;
  summary: string;
}

/** One file of `GET changes/{ref}/files`. */
export interface FileDiff {
  path: string;
  old_path: string | null;
  status: string;
  kind: 'text' | 'notebook';
  added: number;
  removed: number;
  binary: boolean;
  truncated: boolean;
  hunks: Hunk[];
  cells?: CellDiff[];
  metadata_changed?: boolean;
}

export interface ChangeFiles {
  change: string;
  base: string;
  head: string;
  files: FileDiff[];
}

/** States in which a change can still be merged, closed or reviewed. */
export const REVIEWABLE = new Set(['open', 'approved', 'conflicted']);

/** The state a person reads: a merge refused by failing tests is `tests failed`, not
 * `conflicted` (the record's state covers both: a question decides either). */
export function shownState(change: { state: string; verification?: { ok: boolean } | null }): string {
  return change.state === 'conflicted' && change.verification?.ok === false ? 'tests failed' : change.state;
}

/** Every change of the engine (of one objective with `objective`), live. */
export class ChangesPart implements Part {
  readonly key = 'changes';
  readonly changes = new Map<string, Change>();
  private backend: Backend | null = null;

  constructor(private readonly objective?: string) {}

  async load(backend: Backend): Promise<void> {
    this.backend = backend;
    const query = this.objective ? `?objective=${encodeURIComponent(this.objective)}` : '';
    const { changes } = await backend.call<{ changes: Change[] }>('GET', `changes${query}`);
    for (const c of changes) {
      this.changes.set(c.id, { ...this.changes.get(c.id), ...c });
    }
  }

  /** Changes, newest first. */
  list(): Change[] {
    return [...this.changes.values()].sort((a, b) => b.created_at - a.created_at);
  }

  /** Take a change as an action answered it (the event confirms it later). */
  put(change: Change): void {
    this.changes.set(change.id, { ...this.changes.get(change.id), ...change });
  }

  apply(e: OvermindEvent<string>): boolean {
    if (e.type !== 'change-status' && e.type !== 'verification' && e.type !== 'change-checked') {
      return false;
    }
    if (this.objective && e.objective !== this.objective) {
      return false;
    }
    const d = e.data as Record<string, any>;
    const id = String(d.change);
    const change = this.changes.get(id) ?? this.placeholder(id, e);
    if (change.seq === -1) {
      void this.fetch(id);
    }
    if ((change.seq ?? 0) >= e.seq) {
      return false;
    }
    change.seq = e.seq;
    if (e.type === 'change-status') {
      change.state = d.state;
      change.reason = d.reason ?? '';
      change.merge_commit = d.merge_commit ?? change.merge_commit;
    } else if (e.type === 'change-checked') {
      // the event has the summary; the output tail comes with the next fetch of the change
      change.check = { ...change.check, state: d.state, target: d.target, target_commit: d.target_commit,
        message: d.message, conflicts: d.conflicts ?? [] };
    } else {
      change.verification = { command: d.command, ok: d.ok, exit_code: d.exit_code,
        output_tail: d.output_tail };
    }
    change.updated_at = e.ts;
    return true;
  }

  /** Told when a change first seen in an event has been fetched in full. */
  readonly fetched = new Set<(change: Change) => void>();

  /** What an event tells of a change not in the snapshot (seq -1: fetch the rest). */
  private placeholder(id: string, e: OvermindEvent<string>): Change {
    const files = Array.isArray(e.data.files) ? (e.data.files as string[]) : [];
    const change: Change = {
      id, parent: e.objective, state: String(e.data.state ?? 'open'), title: id, task: '',
      branch: '', target: '', author: '', requested_by: '', base_commit: '', stat: [], files,
      merge_commit: null, created_at: e.ts, updated_at: e.ts, seq: -1
    };
    this.changes.set(id, change);
    return change;
  }

  private async fetch(id: string): Promise<void> {
    try {
      const full = await this.backend?.call<Change>('GET', `changes/${encodeURIComponent(id)}`);
      const known = this.changes.get(id);
      if (full && known) {
        Object.assign(known, { ...full, state: known.state, seq: known.seq });
        this.fetched.forEach(fn => fn(known));
      }
    } catch {
      // gone or unreachable: the next snapshot tells
    }
  }
}
