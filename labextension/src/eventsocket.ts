/**
 * A self-healing subscription to the event websocket (`server/events_ws.py`).
 *
 * It remembers the seq of the last event it delivered and reconnects with
 * `?after=<that seq>` (backoff 0.25 s doubling to 5 s), so a dropped connection or a
 * restarted server loses and repeats nothing. Events at or below the cursor are dropped
 * (a replay overlapping what was delivered). The sink hears `connecting`, `live` once a
 * socket is open, and `disconnected` whenever it drops.
 */
import type { EventSink } from './backend';
import { parseFrame, WireError } from './events';

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

export class EventSocket {
  private cursor = 0;
  private ws: WebSocket | null = null;
  private retryMs = FIRST_RETRY_MS;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  /**
   * @param open opens a websocket delivering events after the given seq.
   * @param sink receives event batches (in seq order) and connection states.
   */
  constructor(
    private readonly open: (after: number) => WebSocket,
    private readonly sink: EventSink
  ) {}

  /** The seq of the last event delivered. */
  get lastSeq(): number {
    return this.cursor;
  }

  /** Connect, delivering events with `seq > after`. */
  start(after: number): void {
    this.cursor = after;
    this.connect();
  }

  /** Disconnect for good. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
    this.ws?.close();
    this.ws = null;
  }

  private connect(): void {
    this.sink.state('connecting');
    let ws: WebSocket;
    try {
      ws = this.open(this.cursor);
    } catch (err) {
      this.dropped(String(err));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = FIRST_RETRY_MS;
      this.sink.state('live');
    };
    ws.onmessage = msg => this.receive(msg.data);
    ws.onclose = ev => {
      if (this.ws === ws) {
        this.dropped(ev.reason || `connection closed (${ev.code})`);
      }
    };
  }

  private receive(data: unknown): void {
    let frame;
    try {
      frame = parseFrame(JSON.parse(String(data)));
    } catch (err) {
      console.warn('overmind: ignored a bad frame:', err instanceof WireError ? err.message : err);
      return;
    }
    if (frame.type === 'events') {
      const fresh = frame.events.filter(e => e.seq > this.cursor);
      if (fresh.length) {
        this.cursor = fresh[fresh.length - 1].seq;
        this.sink.events(fresh);
      }
    } else if (frame.type === 'error') {
      console.warn('overmind: event stream error:', frame.message);
    }
  }

  private dropped(reason: string): void {
    this.ws = null;
    if (this.closed) {
      return;
    }
    this.sink.state('disconnected', reason);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}
