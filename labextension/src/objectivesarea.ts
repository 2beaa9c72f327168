/**
 * The objectives area of the JupyterLab extension: the sidebar's Objectives section
 * (rank 20, live from the sidebar's session) and, per objective, a main-area tab with its
 * execution tree (its own session, so the tree's snapshot and events are its own).
 *
 * A change node's "diff" button runs the command `overmind:open-change` with `{id}` when
 * another area registered it (the diff view / change panel); otherwise it is not shown.
 */
import type { HttpBackend } from './backend';
import { ObjectiveList } from './components/objectivelist';
import { ExecutionTree } from './components/tree';
import type { LabArea, LabContext, MainView } from './lab';
import { type ObjectiveNode, ObjectivesPart } from './objectives';
import { Session } from './session';

export const OPEN_CHANGE = 'overmind:open-change';

/** A main-area view: the execution tree of one objective with its own live session. */
export function treeView(backend: HttpBackend, objective: string,
  onOpenChange?: (changeId: string) => void): MainView {
  const session = new Session(backend);
  const part = session.addPart(new ObjectivesPart({ detail: true, only: objective }));
  const tree = new ExecutionTree(session, part, objective, { onOpenChange });
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

/** Installs the Objectives section and the execution tree tabs. */
export const objectivesArea: LabArea = ctx => {
  const part = ctx.session.addPart(new ObjectivesPart({ detail: false }));
  const list = new ObjectiveList(ctx.session, part, { onOpen: node => openTree(ctx, node) });
  ctx.sidebar.addSection(list, 20);
};
