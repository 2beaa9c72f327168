/**
 * `Backend` over the widget's kernel comm, for engines embedded in the kernel (no
 * Jupyter server extension) and pages with no Jupyter server configuration.
 *
 * Messages (custom anywidget messages; Python side: `overmind_jupyter/widgets/bridge.py`):
 *
 *   view → kernel  {type: "call", id, method, args}     method ∈ Bridge.METHODS; method
 *                  "request" with args [httpMethod, path, body] serves REST routes
 *                  {type: "subscribe", after}           events after seq, then live
 *                  {type: "follow", id, ref, tail} / {type: "unfollow", id}
 *   kernel → view  {type: "reply", id, ok, result | error}
 *                  {type: "events", events: [Event, …]}
 *                  {type: "log", id, text} / {type: "log-end", id, error?}
 *
 * Messages to the kernel wait while it is busy (a Jupyter limitation), so this path is
 * only live between cells; the HTTP backend is preferred wherever a server exists.
 */
import type { Backend, Closer, EventSink, HttpMethod, LogSink, Mission, Status } from './backend';
import { parseEvent, type Question } from './events';

/** The part of anywidget's model this uses. */
export interface CommModel {
  send(content: unknown): void;
  on(event: 'msg:custom', cb: (msg: any) => void): void;
  off(event: 'msg:custom', cb: (msg: any) => void): void;
}

export class CommBackend implements Backend {
  private nextId = 1;
  private replies = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private logs = new Map<number, LogSink>();
  private sink: EventSink | null = null;
  private cursor = 0;
  private readonly handler = (msg: any) => this.receive(msg);

  constructor(private readonly model: CommModel) {
    model.on('msg:custom', this.handler);
  }

  private invoke<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.replies.set(id, { resolve, reject });
      this.model.send({ type: 'call', id, method, args });
    });
  }

  private receive(msg: any): void {
    if (msg?.type === 'reply') {
      const waiter = this.replies.get(msg.id);
      this.replies.delete(msg.id);
      if (msg.ok) {
        waiter?.resolve(msg.result);
      } else {
        waiter?.reject(new Error(String(msg.error)));
      }
    } else if (msg?.type === 'events' && this.sink) {
      const fresh = (msg.events as unknown[]).map(parseEvent).filter(e => e.seq > this.cursor);
      if (fresh.length) {
        this.cursor = fresh[fresh.length - 1].seq;
        this.sink.events(fresh);
      }
    } else if (msg?.type === 'log' || msg?.type === 'log-end') {
      const sink = this.logs.get(msg.id);
      if (msg.type === 'log') {
        sink?.text(String(msg.text));
      } else {
        this.logs.delete(msg.id);
        sink?.end(msg.error ?? undefined);
      }
    }
  }

  status(): Promise<Status> {
    return this.invoke('status');
  }

  missions(all: boolean): Promise<Mission[]> {
    return this.invoke('ps_stats', all); // as the REST backend: with each agent's model use
  }

  mission(ref: string): Promise<Mission> {
    return this.invoke('info', ref);
  }

  stop(ref: string): Promise<Mission> {
    return this.invoke('stop', ref);
  }

  kill(ref: string): Promise<Mission[]> {
    return this.invoke('kill', ref);
  }

  questions(): Promise<Question[]> {
    return this.invoke('questions');
  }

  answer(ref: string, text: string): Promise<Question> {
    return this.invoke('answer', ref, text);
  }

  call<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    return this.invoke('request', method, path, body ?? null);
  }

  subscribe(after: number, sink: EventSink): Closer {
    this.sink = sink;
    this.cursor = after;
    this.model.send({ type: 'subscribe', after });
    sink.state('live', 'through the kernel (embedded engine)');
    return () => {
      this.sink = null;
    };
  }

  followLogs(ref: string, tail: number, sink: LogSink): Closer {
    const id = this.nextId++;
    this.logs.set(id, sink);
    this.model.send({ type: 'follow', id, ref, tail });
    return () => {
      this.logs.delete(id);
      this.model.send({ type: 'unfollow', id });
    };
  }

  /** Stop listening to the model. */
  dispose(): void {
    this.model.off('msg:custom', this.handler);
  }
}
