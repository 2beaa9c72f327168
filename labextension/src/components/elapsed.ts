/**
 * Elapsed times of the execution tree's nodes (objective, tasks, agents).
 *
 * Start and end come from event timestamps (`ts`, epoch s), so a reloaded tree shows the
 * same figures and an ended node's time is frozen at its ending event. Only a running
 * node uses the browser clock, to tick: one `Ticker` per tree keeps a single 1 s timer
 * for all its running spans and rewrites just their text (no node is re-rendered for
 * it); the timer stops while nothing runs.
 */
import { h, setText } from '../dom';

const TICK_MS = 1000;

/** Seconds as `4 s`, `1m 05s`, `2h 03m` (an ended node under 10 s: `4.2 s`). */
export function elapsedText(seconds: number, ended: boolean): string {
  const s = Math.max(0, seconds);
  if (s < 10 && ended) {
    return `${s.toFixed(1)} s`;
  }
  const whole = Math.floor(s);
  const two = (n: number) => String(n).padStart(2, '0');
  if (whole < 60) {
    return `${whole} s`;
  }
  if (whole < 3600) {
    return `${Math.floor(whole / 60)}m ${two(whole % 60)}s`;
  }
  return `${Math.floor(whole / 3600)}h ${two(Math.floor(whole / 60) % 60)}m`;
}

/** A span for a node's elapsed time (`Ticker.show` fills it). */
export function elapsedEl(): HTMLElement {
  return h('span', { class: 'om-tree-elapsed' });
}

function clock(ts: number): string {
  return new Date(ts * 1000).toLocaleTimeString();
}

/** The one timer of a tree's running elapsed times (see the module comment). */
export class Ticker {
  private readonly running = new Map<HTMLElement, number>(); // span → start ts
  private timer: ReturnType<typeof setInterval> | null = null;

  /** Show in `el` the time from `start` to `end` (epoch s); `end` null: still running,
   * ticking; `start` null: not started (empty). */
  show(el: HTMLElement, start: number | null, end: number | null): void {
    if (!start) { // null: not started; 0: an objective seeded without its creation time
      this.running.delete(el);
      setText(el, '');
      delete el.dataset.elapsed;
      return;
    }
    el.dataset.elapsed = end === null ? 'running' : 'ended';
    el.title = end === null ? `started ${clock(start)}` : `${clock(start)} – ${clock(end)}`;
    if (end !== null) {
      this.running.delete(el);
      setText(el, elapsedText(end - start, true));
      return;
    }
    this.running.set(el, start);
    this.paint(el, start);
    this.timer ??= setInterval(() => this.tick(), TICK_MS);
  }

  private paint(el: HTMLElement, start: number): void {
    setText(el, elapsedText(Date.now() / 1000 - start, false));
  }

  private tick(): void {
    this.running.forEach((start, el) => this.paint(el, start));
    if (!this.running.size) {
      this.stop();
    }
  }

  private stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Stop ticking for good. */
  dispose(): void {
    this.running.clear();
    this.stop();
  }
}
