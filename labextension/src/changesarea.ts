/**
 * The changes area of the JupyterLab extension: the sidebar's Changes section (rank 40,
 * live from the sidebar's session) and, per change, a main-area review tab (its panel
 * and diff). The command `overmind:open-change` `{id}` opens that tab; the execution
 * tree's change nodes use it.
 */
import { ChangesPart } from './changes';
import { ChangeList, ChangeReview } from './components/changes';
import type { LabArea, LabContext } from './lab';
import { OPEN_CHANGE } from './objectivesarea';

function openReview(ctx: LabContext, part: ChangesPart, id: string): void {
  const title = part.changes.get(id)?.title || id;
  ctx.open(`overmind-change-${id}`, `change ${title}`.slice(0, 60),
    () => new ChangeReview(ctx.session, part, id));
}

/** Installs the Changes section, the review tabs and `overmind:open-change`. */
export const changesArea: LabArea = ctx => {
  const part = ctx.session.addPart(new ChangesPart());
  const list = new ChangeList(ctx.session, part, { onOpen: c => openReview(ctx, part, c.id) });
  ctx.sidebar.addSection(list, 40);
  ctx.app.commands.addCommand(OPEN_CHANGE, { // not in the palette: it needs an id
    label: 'Overmind: Open change',
    caption: 'Review a change: its state, verification, actions and diff',
    execute: args => {
      if (typeof args.id === 'string' && args.id) {
        openReview(ctx, part, args.id);
      }
    }
  });
};
