/**
 * The party area of the JupyterLab extension: the sidebar's Party section (rank 10) and
 * the palette commands `Overmind: Host party`, `Join party…` and `New prompt…`.
 *
 * Host mode (the page's user owns the server): the section is the `PartyPanel`. Guest
 * mode (JupyterHub: the host routes answer 403 `party-member`, `Session.member` is set):
 * the section becomes the `MemberPanel` (`GET party/me`, polled), the other sections
 * are hidden (`om-member-mode` on the sidebar, `style/party.css`) and New prompt… posts
 * to `party/me/prompts`.
 */
import { Notification, showErrorMessage } from '@jupyterlab/apputils';
import { PartyPanel, type NewInvite } from './components/party';
import { MemberPanel } from './components/partymember';
import { h } from './dom';
import { askForm } from './forms';
import { addCommand, type LabArea, type LabContext } from './lab';
import type { Section } from './sidebar';

/** The Party section: the host's panel, replaced by the member's view in guest mode. */
export class PartySection implements Section {
  readonly el = h('div', { class: 'om-section om-party-section' });
  readonly host: PartyPanel;
  member: MemberPanel | null = null;
  private readonly unlisten: () => void;

  constructor(private readonly ctx: LabContext) {
    this.host = new PartyPanel(ctx.session, null,
      { onHost: () => void ctx.app.commands.execute(HOST) });
    this.el.append(this.host.el);
    this.unlisten = ctx.session.listen(c => c.connection && this.checkMember());
  }

  private checkMember(): void {
    if (this.ctx.session.member === null || this.member) {
      return;
    }
    this.member = new MemberPanel(this.ctx.backend);
    this.host.dispose();
    this.el.replaceChildren(this.member.el);
    this.ctx.sidebar.addClass('om-member-mode');
  }

  dispose(): void {
    this.unlisten();
    this.host.dispose();
    this.member?.dispose();
  }
}

const HOST = 'overmind:host-party';
const JOIN = 'overmind:join-party';
const PROMPT = 'overmind:new-prompt';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Show the party section in the sidebar. */
function reveal(ctx: LabContext): void {
  ctx.app.shell.activateById(ctx.sidebar.id);
}

async function hostParty(ctx: LabContext, section: PartySection): Promise<void> {
  const form = await askForm('Host a party', [
    { key: 'name', label: 'Your name in the party', placeholder: 'your login name' },
    { key: 'auto', label: 'Admit without asking (names, comma separated)',
      placeholder: 'ada, grace' }
  ], 'Host');
  if (!form) {
    return;
  }
  const auto = form.auto.split(/[,\n]/).map(s => s.trim()).filter(Boolean);
  try {
    const answer = await ctx.backend.call<NewInvite>('POST', 'party',
      { ...(form.name ? { name: form.name } : {}), auto_approve: auto });
    reveal(ctx);
    section.host.showInvite(answer);
  } catch (err) {
    await showErrorMessage('Host party', message(err));
  }
}

async function joinParty(ctx: LabContext, section: PartySection): Promise<void> {
  const form = await askForm('Join a party', [
    { key: 'invite', label: 'Invite', placeholder: 'overmind+https://…#code.secret' },
    { key: 'name', label: 'Your name in the party' }
  ], 'Join');
  if (!form) {
    return;
  }
  try {
    const info = await ctx.backend.call<{ party: { name: string }; member: { name: string } }>(
      'POST', 'party/join', { invite: form.invite, name: form.name });
    Notification.success(`joined ${info.party.name} as ${info.member.name}`,
      { autoClose: 5000 });
    reveal(ctx);
    await section.host.refreshJoined();
  } catch (err) {
    await showErrorMessage('Join party', message(err));
  }
}

async function newPrompt(ctx: LabContext, section: PartySection): Promise<void> {
  const form = await askForm('New prompt', [
    { key: 'text', label: 'What should the team do?', multiline: true,
      placeholder: 'Ctrl+Enter submits' }
  ], 'Submit');
  if (!form?.text) {
    return;
  }
  try {
    if (section.member) {
      await section.member.submit(form.text);
      Notification.success('prompt queued in the party', { autoClose: 5000 });
      return;
    }
    const id = Notification.info('prompt submitted: the story agent is grouping it…');
    const objective = await ctx.backend.call<{ id: string; title: string }>(
      'POST', 'prompts', { text: form.text });
    // not a success yet: the objective's end gets its own toast (objectivesarea.ts)
    Notification.update({ id, type: 'info', autoClose: 8000,
      message: `objective ${objective.id} started: ${objective.title}` });
  } catch (err) {
    await showErrorMessage('New prompt', message(err));
  }
}

/** Installs the Party section and the party commands. */
export const partyArea: LabArea = ctx => {
  const section = ctx.sidebar.addSection(new PartySection(ctx), 10);
  addCommand(ctx, HOST, { label: 'Overmind: Host party',
    caption: 'Open a party on this server and show its first invite',
    execute: () => hostParty(ctx, section) });
  addCommand(ctx, JOIN, { label: 'Overmind: Join party…',
    caption: 'Join another Overmind party with an invite',
    execute: () => joinParty(ctx, section) });
  addCommand(ctx, PROMPT, { label: 'Overmind: New prompt…',
    caption: 'Submit a prompt: it becomes (part of) an objective',
    execute: () => newPrompt(ctx, section) });
};
