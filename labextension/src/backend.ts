/**
 * How a view talks to the engine: `Backend` is the contract, `HttpBackend` implements it
 * with the REST API under `<base_url>overmind/api/` and the event websocket
 * (`server/handlers.py`, `server/events_ws.py`). `comm.ts` implements it over the kernel
 * comm for embedded engines.
 */
import type { OvermindEvent, Question } from './events';
import { EventSocket } from './eventsocket';

/** A mission in the `mission_to_dict` JSON shape (+ `info` extras when fetched). */
export interface Mission {
  id: string;
  name: string;
  kind: string;
  status: string;
  command: string[];
  cwd?: string;
  parent: string | null;
  pid: number | null;
  restarts: number;
  created_at: number;
  started_at: number | null;
  exit: {
    reason?: string; returncode?: number | null; signal?: number | null; stopped?: boolean;
  } | null;
  agent?: string | null;
  last_line?: string | null;
  cpu_percent?: number;
  rss_bytes?: number;
  liveness?: string;
  /** An agent's model use: input + output tokens, USD (null: unpriced), and the seq of
   * the last `agent-usage` event counted (live events after it add on). */
  tokens?: number;
  cost_usd?: number | null;
  usage_seq?: number;
}

/** Engine facts from `GET status` (only what the views use). */
export interface Status {
  mode: string;
  last_seq: number;
}

/** Connection state shown by every view: `connecting` → `live` ⇄ `disconnected`. */
export type ConnectionState = 'connecting' | 'live' | 'disconnected';

/** Receives what a subscription delivers. */
export interface EventSink {
  events(batch: OvermindEvent<string>[]): void;
  state(state: ConnectionState, detail?: string): void;
}

/** Receives a followed log: text chunks, then the end (`error` set when it broke off). */
export interface LogSink {
  text(chunk: string): void;
  end(error?: string): void;
}

/** Stops a subscription or a follow. */
export type Closer = () => void;

/** The engine operations the views need; every method rejects with an `Error` whose
 * message is the server's `message` (what went wrong and what to do). */
export interface Backend {
  status(): Promise<Status>;
  missions(all: boolean): Promise<Mission[]>;
  mission(ref: string): Promise<Mission>;
  stop(ref: string): Promise<Mission>;
  kill(ref: string): Promise<Mission[]>;
  questions(): Promise<Question[]>;
  answer(ref: string, text: string): Promise<Question>;
  /** Events with `seq > after`, then live ones, resuming after reconnects. */
  subscribe(after: number, sink: EventSink): Closer;
  /** The last `tail` lines of a mission's log, then new output until it ends. */
  followLogs(ref: string, tail: number, sink: LogSink): Closer;
  /**
   * Any other host REST call: `path` is relative to `<base>overmind/api/` and may carry a
   * query (`objectives`, `changes?objective=o1`, `changes/c1/merge`). Resolves to the
   * JSON body, or to the text of a `text/plain` answer (a diff). In embedded mode the
   * kernel serves the same routes (`overmind_jupyter/widgets/routes.py`).
   */
  call<T>(method: HttpMethod, path: string, body?: unknown): Promise<T>;
}

/** The HTTP methods of Overmind's REST API. */
export type HttpMethod = 'GET' | 'POST' | 'DELETE';

/** Performs one HTTP request (the page's `fetch`, or JupyterLab's `ServerConnection`). */
export type RequestFn = (url: string, init: RequestInit) => Promise<Response>;

const API = 'overmind/api/';

/** The error `reason` of a 403 on host routes for a JupyterHub visitor (`server/hub.py`):
 * the page's user takes part in the owner's party as a member, not as the host. */
export const PARTY_MEMBER = 'party-member';

/** A failed REST call: the server's `message`, its HTTP `status` and the `reason` of
 * Overmind's JSON errors (`party-member`, `no-party` …; undefined when not given). */
export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly reason?: string) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The `ApiError` of a failed response, from the `{message, reason}` of Overmind's JSON. */
async function failure(response: Response): Promise<ApiError> {
  let message = `HTTP ${response.status} ${response.statusText}`;
  let reason: string | undefined;
  try {
    const body = await response.json();
    if (body && typeof body.message === 'string') {
      message = body.message;
    }
    reason = body && typeof body.reason === 'string' ? body.reason : undefined;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, response.status, reason);
}

/**
 * The engine of the Jupyter server that serves this page.
 *
 * @param baseUrl absolute server URL with its base URL, ending in `/`.
 * @param wsBase the same as `ws://` / `wss://`.
 * @param request performs requests with the page's credentials (cookie + XSRF header).
 */
export class HttpBackend implements Backend {
  constructor(
    readonly baseUrl: string,
    readonly wsBase: string,
    private readonly request: RequestFn
  ) {}

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const response = await this.request(this.baseUrl + API + path, init);
    if (!response.ok) {
      throw await failure(response);
    }
    const type = response.headers.get('Content-Type') ?? '';
    return (type.startsWith('text/plain') ? await response.text() : await response.json()) as T;
  }

  call<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    return this.json(method, path, body ?? (method === 'GET' ? undefined : {}));
  }

  status(): Promise<Status> {
    return this.json('GET', 'status');
  }

  async missions(all: boolean): Promise<Mission[]> {
    // with stats: live figures, and each agent's model use (tokens, USD) in the snapshot
    return (await this.json<{ missions: Mission[] }>('GET', `missions?stats=1${all ? '&all=1' : ''}`))
      .missions;
  }

  mission(ref: string): Promise<Mission> {
    return this.json('GET', `missions/${encodeURIComponent(ref)}`);
  }

  stop(ref: string): Promise<Mission> {
    return this.json('POST', `missions/${encodeURIComponent(ref)}/stop`, {});
  }

  async kill(ref: string): Promise<Mission[]> {
    const path = `missions/${encodeURIComponent(ref)}/kill`;
    return (await this.json<{ missions: Mission[] }>('POST', path, {})).missions;
  }

  async questions(): Promise<Question[]> {
    return (await this.json<{ questions: Question[] }>('GET', 'questions')).questions;
  }

  answer(ref: string, text: string): Promise<Question> {
    return this.json('POST', `questions/${encodeURIComponent(ref)}/answer`, { text });
  }

  subscribe(after: number, sink: EventSink): Closer {
    const socket = new EventSocket(
      seq => new WebSocket(`${this.wsBase}${API}events?after=${seq}`),
      sink
    );
    socket.start(after);
    return () => socket.close();
  }

  followLogs(ref: string, tail: number, sink: LogSink): Closer {
    const abort = new AbortController();
    const url = `${this.baseUrl}${API}missions/${encodeURIComponent(ref)}/logs?follow=1&tail=${tail}`;
    void this.stream(url, abort.signal, sink);
    return () => abort.abort();
  }

  private async stream(url: string, signal: AbortSignal, sink: LogSink): Promise<void> {
    try {
      const response = await this.request(url, { method: 'GET', signal });
      if (!response.ok || !response.body) {
        throw await failure(response);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        sink.text(value);
      }
      sink.end();
    } catch (err) {
      if (!signal.aborted) {
        sink.end(err instanceof Error ? err.message : String(err));
      }
    }
  }
}

/** JupyterLab's page configuration (`<script id="jupyter-config-data">`), if any. */
export function pageConfig(): Record<string, string> | null {
  const el = document.getElementById('jupyter-config-data');
  if (!el?.textContent) {
    return null;
  }
  try {
    return JSON.parse(el.textContent);
  } catch {
    return null;
  }
}

function cookie(name: string): string | undefined {
  const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : undefined;
}

/**
 * A backend for code running in a Jupyter page outside JupyterLab's services (anywidget
 * views): base URL from the page configuration, the login cookie, and `X-XSRFToken`
 * from the `_xsrf` cookie on writes (what `ServerConnection.makeRequest` does).
 * Returns null when the page is not served by Jupyter (no page configuration).
 */
export function pageBackend(): HttpBackend | null {
  const config = pageConfig();
  if (!config || typeof config.baseUrl !== 'string') {
    return null;
  }
  const base = new URL(config.baseUrl, location.href).href;
  const wsBase = base.replace(/^http/, 'ws');
  const token = config.token;
  const request: RequestFn = (url, init) => {
    const headers = new Headers(init.headers);
    const xsrf = cookie('_xsrf');
    if (xsrf) {
      headers.set('X-XSRFToken', xsrf);
    }
    if (token) {
      headers.set('Authorization', `token ${token}`);
    }
    return fetch(url, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  };
  return new HttpBackend(base, wsBase, request);
}
