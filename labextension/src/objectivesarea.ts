/**
 * The objectives area of the JupyterLab extension: the sidebar's Objectives section
 * (rank 20, live from the sidebar's session) and, per objective, a main-area tab with its
 * execution tree (its own session, so the tree's snapshot and events are its own).
 *
 * A mirrored objective's changes (a party this engine joined) carry a reviewer's actions
 * in both (`components/partyreview.ts`) while this guest is a reviewer there.
 *
 * A change node's "diff" button runs the command `overmind:open-change` with `{id}` when
 * another area registered it (the diff view / change panel); otherwise it is not shown.
 *
 * An objective seen to end while the page is open gets a toast that says how it ended
 * (`outcomeToast`): green only when everything landed.
 */
import { Notification } from '@jupyterlab/apputils';
import type { HttpBackend } from './backend';
import { ObjectiveList } from './components/objectivelist';
import { ExecutionTree } from './components/tree';
import type { LabArea, LabContext, MainView } from './lab';
import { MembershipPart } from './membership';
import { type ObjectiveNode, ObjectivesPart } from './objectives';
import { Session } from './session';

export const OPEN_CHANGE = 'overmind:open-change';

/** A main-area view: the execution tree of one objective with its own live session (and
 * this guest's party memberships: a reviewer reviews a mirrored objective's changes). */
export function treeView(backend: HttpBackend, objective: string,
  onOpenChange?: (changeId: string) => void): MainView {
  const session = new Session(backend);
  const part = session.addPart(new ObjectivesPart({ detail: true, only: objective }));
  const membership = session.addPart(new MembershipPart());
  const tree = new ExecutionTree(session, part, objective, { onOpenChange, membership });
  void session.start();
  return { el: tree.el, dispose: () => (tree.dispose(), session.close()) };
}

function openTree(ctx: LabContext, node: ObjectiveNode): void {
  const commands = ctx.app.commands;
  const onOpenChange = commands.hasCommand(OPEN_CHANGE)
    ? (id: string) => void commands.execute(OPEN_CHANGE, { id })
    : undefined;
  ctx.open(`overmind-tree-${node.id}`, `objective ${node.title || node.id}`,
    () => treeView(ctx.backend, node.id, onOpenChange));
}

const ENDED = new Set(['done', 'failed', 'cancelled']);

/** The toast of an ended objective: `success` only for `done` with nothing left out
 * (its reason then starts `done (`); changes that only wait for review inform
 * (`done, 1 wait for review (…)`: the expected end when review comes first); `done, 1 not
 * merged …` or a failed task warns; failed is an error. */
export function outcomeToast(node: ObjectiveNode): { type: 'success' | 'warning' | 'error' | 'info'; message: string } {
  const title = `objective ${node.title || node.id}`;
  if (node.state === 'failed') {
    return { type: 'error', message: `${title} failed: ${node.reason || node.error}` };
  }
  if (node.state === 'cancelled') {
    return { type: 'info', message: `${title} was cancelled` };
  }
  const partial = node.reason.startsWith('done,');
  const waiting = /^done, \d+ wait for review \(/.test(node.reason); // nothing else left out
  const type = waiting ? 'info' : partial ? 'warning' : 'success';
  return { type, message: `${title}: ${node.reason || 'done'}` };
}

/** Toast each objective that ends after the page opened (one toast per objective). */
function toastOutcomes(ctx: LabContext, part: ObjectivesPart): void {
  const opened = Date.now() / 1000;
  const states = new Map<string, string>();
  ctx.session.listen(change => {
    if (!change.parts.has(part.key)) {
      return;
    }
    for (const node of part.objectives.values()) {
      const before = states.get(node.id);
      states.set(node.id, node.state);
      const live = before !== undefined ? !ENDED.has(before) : node.created >= opened;
      if (live && ENDED.has(node.state)) {
        const toast = outcomeToast(node);
        Notification.emit(toast.message, toast.type, {
          autoClose: toast.type === 'success' ? 8000 : false,
          actions: [{ label: 'Open', callback: () => openTree(ctx, node) }]
        });
      }
    }
  });
}

/** Installs the Objectives section, the execution tree tabs and the outcome toasts. */
export const objectivesArea: LabArea = ctx => {
  const part = ctx.session.addPart(new ObjectivesPart({ detail: false }));
  const membership = ctx.session.addPart(new MembershipPart());
  const list = new ObjectiveList(ctx.session, part, { onOpen: node => openTree(ctx, node), membership });
  ctx.sidebar.addSection(list, 20);
  toastOutcomes(ctx, part);
};
