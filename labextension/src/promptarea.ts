/**
 * The prompt area of the JupyterLab extension: the sidebar's prompt box (rank 0, the top,
 * where Jupyter AI users look for it) and its "Needs you" section (rank 5, right below:
 * what blocks work sits next to where work is started, above the party and every list,
 * so it is seen without scrolling; the Questions inbox at rank 50 stays where questions
 * are answered). A change in the queue opens its review (`overmind:open-change`, from
 * `changesarea.ts`); a question is focused in the Questions inbox.
 */
import { NeedsYouList } from './components/needsyou';
import { PromptBox } from './components/promptbox';
import type { LabArea, LabContext } from './lab';
import { NeedsYouPart } from './needsyou';
import { OPEN_CHANGE } from './objectivesarea';

function openChange(ctx: LabContext, id: string): void {
  if (ctx.app.commands.hasCommand(OPEN_CHANGE)) {
    void ctx.app.commands.execute(OPEN_CHANGE, { id });
  }
}

/** Installs the prompt box and the Needs you section. */
export const promptArea: LabArea = ctx => {
  const { holdForReview, defaultAgent } = ctx.settings;
  ctx.sidebar.addSection(new PromptBox(ctx.session, { holdForReview, defaultAgent }), 0);
  const part = ctx.session.addPart(new NeedsYouPart());
  const list = new NeedsYouList(ctx.session, part, {
    onChange: id => openChange(ctx, id),
    onQuestion: id => ctx.sidebar.focusQuestion(id)
  });
  ctx.sidebar.addSection({ el: list.el, dispose: () => (list.dispose(), part.dispose()) }, 5);
};
