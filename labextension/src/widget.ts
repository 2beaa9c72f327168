/**
 * The anywidget ESM entry of every Overmind widget (`overmind_jupyter/widgets/`): one
 * bundle, the view chosen by the model's `view` trait (`VIEWS`: `missions`, `logs`,
 * `questions` …).
 *
 * Traits read: `view`, `mode` (`server` | `embedded`), `mission` (logs), `all`
 * (missions), `max_lines` (logs), `reveals` (party: a new invite to ask the kernel for).
 * In server mode the view talks to the Jupyter server that serves the page (REST + event
 * websocket, so it stays live while the kernel is busy); in embedded mode, or outside a
 * Jupyter page, through the kernel comm.
 */
import { type Backend, pageBackend } from './backend';
import { CommBackend } from './comm';
import { changesWidgetView, diffWidgetView } from './components/changes';
import { LogView } from './components/logs';
import { MissionTable } from './components/missions';
import { partyView } from './components/party';
import { QuestionsInbox } from './components/questions';
import { treeWidgetView } from './components/tree';
import { Session } from './session';
import type { Model, View, ViewContext, ViewFactory } from './widgetview';

function chooseBackend(model: Model): { backend: Backend; dispose: () => void } {
  const http = model.get('mode') === 'embedded' ? null : pageBackend();
  if (http) {
    return { backend: http, dispose: () => undefined };
  }
  const comm = new CommBackend(model);
  return { backend: comm, dispose: () => comm.dispose() };
}

const logView: ViewFactory = ({ model, backend }) => {
  const view = new LogView(backend, String(model.get('mission')), {
    maxLines: model.get('max_lines') || 5000,
    title: model.get('title') || undefined
  });
  return { nodes: [view.el], dispose: () => view.dispose() };
};

const missionTable: ViewFactory = ({ backend, el, session }) => {
  let logs: LogView | null = null;
  const table = new MissionTable(session(), {
    pollMs: 3000,
    onLogs: m => {
      logs?.dispose();
      logs?.el.remove();
      logs = new LogView(backend, m.id, { title: `logs of ${m.name}` });
      el.append(logs.el);
    }
  });
  return { nodes: [table.el], dispose: () => (table.dispose(), logs?.dispose()) };
};

const questionsInbox: ViewFactory = ({ session }) => {
  const inbox = new QuestionsInbox(session());
  return { nodes: [inbox.el], dispose: () => inbox.dispose() };
};

/** The view of each `view` trait value. */
const VIEWS: Record<string, ViewFactory> = {
  changes: changesWidgetView,
  diff: diffWidgetView,
  logs: logView,
  missions: missionTable,
  party: partyView,
  questions: questionsInbox,
  tree: treeWidgetView
};

function build(model: Model, backend: Backend, el: HTMLElement): View {
  let session: Session | null = null;
  const ctx: ViewContext = {
    model, backend, el,
    session: () => (session ??= new Session(backend, Boolean(model.get('all'))))
  };
  const factory = VIEWS[String(model.get('view'))] ?? missionTable;
  const inner = factory(ctx);
  const started = session as Session | null;
  void started?.start();
  return { nodes: inner.nodes, dispose: () => (inner.dispose(), started?.close()) };
}

const DROPPED_CHECK_MS = 2000;

/**
 * Runs `cleanup` once the page has dropped `el` (it had a parent, now has none). The
 * kernel rewrites a widget's output when its snapshot changes (`update_display`), and
 * JupyterLab then renders a new view of the model into the output without removing the
 * old one: its element is only detached. Windowed notebooks detach whole cells, which
 * keeps `el` in its output, so those views stay. Returns the stop of the check.
 */
function whenDropped(el: HTMLElement, cleanup: () => void): () => void {
  let attached = false;
  const timer = setInterval(() => {
    if (el.parentElement) {
      attached = true;
    } else if (attached) {
      clearInterval(timer);
      cleanup();
    }
  }, DROPPED_CHECK_MS);
  return () => clearInterval(timer);
}

/** anywidget `render`: builds the view into `el`; returns its cleanup. */
function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  el.classList.add('overmind-widget');
  const { backend, dispose } = chooseBackend(model);
  const view = build(model, backend, el);
  el.prepend(...view.nodes);
  let done = false;
  const cleanup = () => {
    if (!done) {
      done = true;
      view.dispose();
      dispose();
    }
  };
  const stop = whenDropped(el, cleanup);
  return () => (stop(), cleanup());
}

export default { render };
