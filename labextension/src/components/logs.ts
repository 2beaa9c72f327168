/**
 * The log view (`%overmind logs ID -f` widget and the sidebar's log tabs): follows a
 * mission's output with ANSI colours rendered safely (`ansi.ts`), a search box that
 * filters lines, and pause/resume.
 *
 * Keeps at most `maxLines` lines. If the stream breaks off while the mission still runs
 * (server restart, network), it shows "disconnected" and follows again from the last
 * `maxLines` lines, replacing what it showed, so nothing is doubled or lost.
 */
import { AnsiParser } from '../ansi';
import type { Backend, Closer } from '../backend';
import { frameThrottle, h, setText } from '../dom';
import { connectionPill, showConnection } from './connection';
import { TERMINAL } from './missions';

export interface LogViewOptions {
  /** Lines kept (and fetched again after a reconnect). */
  maxLines?: number;
  /** Title shown above the log (default: the mission reference). */
  title?: string;
}

export class LogView {
  readonly el: HTMLElement;
  private readonly pill = connectionPill();
  private readonly state = h('span', { class: 'om-log-state' });
  private readonly pre = h('div', { class: 'om-log', role: 'log', tabindex: 0, 'aria-live': 'off' });
  private readonly search = h('input', { class: 'om-search', type: 'search', placeholder: 'search', 'aria-label': 'search the log' });
  private readonly pause = h('button', { class: 'om-button', type: 'button', 'aria-pressed': 'false' }, 'Pause');
  private readonly count = h('span', { class: 'om-count' });
  private parser = new AnsiParser();
  private line: HTMLElement | null = null;
  private pending: string[] = [];
  private paused = false;
  private closer: Closer | null = null;
  private disposed = false;
  private retryMs = 250;
  private readonly maxLines: number;
  private readonly flush = frameThrottle(() => this.drain());

  constructor(
    private readonly backend: Backend,
    private readonly ref: string,
    options: LogViewOptions = {}
  ) {
    this.maxLines = options.maxLines ?? 5000;
    this.el = h('div', { class: 'om-view om-logs', 'data-mission': ref },
      h('div', { class: 'om-header' },
        h('span', { class: 'om-title' }, options.title ?? `logs of ${ref}`), this.pill, this.state),
      h('div', { class: 'om-toolbar' }, this.search, this.pause, this.count),
      this.pre);
    this.search.addEventListener('input', () => this.filter());
    this.pause.addEventListener('click', () => this.togglePause());
    this.follow(this.maxLines);
  }

  private follow(tail: number): void {
    showConnection(this.pill, 'connecting');
    let first = true;
    this.closer = this.backend.followLogs(this.ref, tail, {
      text: chunk => {
        if (first) {
          first = false;
          showConnection(this.pill, 'live');
          this.retryMs = 250;
        }
        this.pending.push(chunk);
        this.flush();
      },
      end: error => void this.ended(error)
    });
  }

  private async ended(error?: string): Promise<void> {
    if (this.disposed) {
      return;
    }
    let status: string | null = null;
    try {
      status = (await this.backend.mission(this.ref)).status;
    } catch (err) {
      error = error ?? (err instanceof Error ? err.message : String(err));
    }
    if (status !== null && TERMINAL.has(status)) {
      showConnection(this.pill, 'live');
      setText(this.state, `mission ${status}`);
      this.el.dataset.ended = status;
      return;
    }
    showConnection(this.pill, 'disconnected', error ?? 'the log stream ended early');
    setTimeout(() => this.restart(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  private restart(): void {
    if (this.disposed) {
      return;
    }
    this.pending = [];
    this.parser = new AnsiParser();
    this.pre.replaceChildren();
    this.line = null;
    this.follow(this.maxLines);
  }

  private drain(): void {
    if (this.paused || !this.pending.length) {
      return;
    }
    const runs = this.parser.push(this.pending.join(''));
    this.pending = [];
    const query = this.search.value.toLowerCase();
    for (const run of runs) {
      const parts = run.text.split('\n');
      parts.forEach((part, i) => {
        if (i > 0) {
          this.endLine(query);
        }
        if (part) {
          this.currentLine().append(run.classes ? h('span', { class: run.classes }, part) : part);
        }
      });
    }
    while (this.pre.childElementCount > this.maxLines) {
      this.pre.firstElementChild?.remove();
    }
    this.showCount();
    if (!query) {
      this.pre.scrollTop = this.pre.scrollHeight;
    }
  }

  private currentLine(): HTMLElement {
    if (!this.line) {
      this.line = this.pre.appendChild(h('div', { class: 'om-line' }));
    }
    return this.line;
  }

  private endLine(query: string): void {
    const line = this.currentLine();
    line.hidden = query !== '' && !(line.textContent ?? '').toLowerCase().includes(query);
    this.line = null;
  }

  private filter(): void {
    const query = this.search.value.toLowerCase();
    for (const line of Array.from(this.pre.children) as HTMLElement[]) {
      line.hidden = query !== '' && !(line.textContent ?? '').toLowerCase().includes(query);
    }
    this.showCount();
  }

  private showCount(): void {
    const total = this.pre.childElementCount;
    const query = this.search.value;
    const shown = query ? this.pre.querySelectorAll('.om-line:not([hidden])').length : total;
    setText(this.count, query ? `${shown} of ${total} lines` : `${total} lines`);
  }

  private togglePause(): void {
    this.paused = !this.paused;
    this.pause.setAttribute('aria-pressed', String(this.paused));
    setText(this.pause, this.paused ? 'Resume' : 'Pause');
    if (!this.paused) {
      this.drain();
    }
  }

  /** The text shown, one line per line (tests and copy). */
  text(): string {
    return Array.from(this.pre.children).map(l => l.textContent).join('\n');
  }

  /** Stop following. */
  dispose(): void {
    this.disposed = true;
    this.closer?.();
  }
}
