/**
 * Timings of the execution tree's live updates, for `bench/tree_bench.py` (issue 6's
 * target: "each live update batch ≤ 16 ms of main-thread time").
 *
 * Off unless the page sets `window.__omTreeProfile = []`; then every tree appends one
 * entry per event batch it was given (`batch`: the reducer's time on that batch, taken
 * when the session's listener runs, right after the reducer) and per frame it rendered
 * (`render`: the DOM update plus the style and layout it caused, forced at its end so
 * they count here and not in the browser's later frame work). `at` is `performance.now()`
 * (ms) when the work began (`batch`: when it ended).
 */

export interface ProfileEntry {
  kind: 'batch' | 'render';
  /** `performance.now()` (ms), see the module comment. */
  at: number;
  /** Main-thread time (ms). */
  ms: number;
}

/** The page's profile log, or null when profiling is off. */
export function profileLog(): ProfileEntry[] | null {
  const log = (globalThis as { __omTreeProfile?: unknown }).__omTreeProfile;
  return Array.isArray(log) ? (log as ProfileEntry[]) : null;
}

/** Runs `render`; when profiling, forces layout of `el` and logs the time taken. */
export function profiledRender(el: HTMLElement, render: () => void): void {
  const log = profileLog();
  const began = performance.now();
  render();
  if (log) {
    void el.offsetHeight; // style + layout now, inside the measured span
    log.push({ kind: 'render', at: began, ms: performance.now() - began });
  }
}
