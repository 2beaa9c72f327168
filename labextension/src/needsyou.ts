/**
 * What waits on a person, as live state: `NeedsYouPart` is a session `Part` (key
 * `needs-you`) holding `GET needs-you` (`ReviewService.needs_you`: open questions and
 * changes under review, oldest first). The list joins records of two kinds with titles
 * the events do not all carry, so events are not reduced here: an event that can change
 * the list (`REFRESH_ON`) makes the part fetch it again, throttled, and tell `fetched`.
 */
import type { Backend } from './backend';
import type { OvermindEvent } from './events';
import type { Part } from './session';

/** One row of `GET needs-you`. */
export interface NeedsYouItem {
  kind: 'question' | 'change';
  id: string;
  objective: string | null;
  /** The question's first line or the change's title. */
  title: string;
  /** The question's kind (`tool-approval` …) or the change's state (`open` …). */
  detail: string;
  /** When it began waiting (epoch s). */
  since: number;
}

/** Events after which the list may differ. */
export const REFRESH_ON = new Set(['question-asked', 'question-answered', 'change-status',
  'change-checked', 'objective-status']);

/** The needs-you list of one engine, refetched after the events that change it. */
export class NeedsYouPart implements Part {
  readonly key = 'needs-you';
  /** Oldest first. */
  items: NeedsYouItem[] = [];
  /** The last refetch's failure ('' when it worked). */
  error = '';
  /** Told after each refetch (the session's change only covers the snapshot). */
  readonly fetched = new Set<() => void>();
  private backend: Backend | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight = false;
  private again = false;

  /** @param delayMs how long a burst of events is gathered into one request. */
  constructor(private readonly delayMs = 250) {}

  async load(backend: Backend): Promise<void> {
    this.backend = backend;
    this.items = await this.get(backend);
  }

  /** Never changes the state itself (returns false); schedules a refetch instead. */
  apply(e: OvermindEvent<string>): boolean {
    if (REFRESH_ON.has(e.type)) {
      this.stale();
    }
    return false;
  }

  /** Fetch the list again soon: one request per burst, never two at once. */
  stale(): void {
    if (this.inFlight) {
      this.again = true; // its answer may predate the event: ask once more after it
    } else if (this.timer === null && this.backend) {
      this.timer = setTimeout(() => void this.refetch(), this.delayMs);
    }
  }

  /** Stop a pending refetch. */
  dispose(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
    this.fetched.clear();
  }

  private async get(backend: Backend): Promise<NeedsYouItem[]> {
    const { items } = await backend.call<{ items: NeedsYouItem[] }>('GET', 'needs-you');
    return [...items].sort((a, b) => a.since - b.since);
  }

  private async refetch(): Promise<void> {
    this.timer = null;
    this.inFlight = true;
    try {
      this.items = await this.get(this.backend as Backend);
      this.error = '';
    } catch (err) {
      this.error = err instanceof Error ? err.message : String(err);
    } finally {
      this.inFlight = false;
    }
    this.fetched.forEach(fn => fn());
    if (this.again) {
      this.again = false;
      this.stale();
    }
  }
}
