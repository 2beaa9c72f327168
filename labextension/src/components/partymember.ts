/**
 * A party member's view of the owner's party (JupyterHub visitors: the host routes answer
 * them 403 `party-member`): party name, members and roles, the member's own prompts with
 * text and status, other prompts' status only — `GET party/me`
 * (`server/member_handlers.py`, redacted by `party_view.guest_status`), polled every
 * `pollMs` (no event path is open to members).
 */
import type { Backend } from '../backend';
import { h, setText } from '../dom';
import type { MemberView as MemberData, PartyPrompt } from '../party';
import { Actions, heading, memberItem, memberOrder, promptHead,
  replaceKeepingFocus } from './partyrows';

export interface MemberPanelOptions {
  /** Poll interval in ms (default 2000). */
  pollMs?: number;
}

export class MemberPanel {
  readonly el: HTMLElement;
  /** The last view read (null until one was). */
  view: MemberData | null = null;
  private readonly note = h('div', { class: 'om-member-note', role: 'status' });
  private readonly body = h('div', { class: 'om-party-body' });
  private readonly actions = new Actions();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;

  constructor(
    private readonly backend: Backend,
    private readonly options: MemberPanelOptions = {}
  ) {
    this.el = h('div', { class: 'om-view om-party om-party-member' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Party')),
      this.note, this.actions.error, this.body);
    void this.poll();
  }

  /** Read the view now (after submitting a prompt) and render it. */
  async refresh(): Promise<void> {
    const ok = await this.actions.run(null, async () => {
      this.view = await this.backend.call<MemberData>('GET', 'party/me');
    });
    if (!ok) {
      this.view = null;
    }
    this.render();
  }

  /** Submit a prompt as this member (`POST party/me/prompts`); rejects on refusal. */
  async submit(text: string): Promise<PartyPrompt> {
    const prompt = await this.backend.call<PartyPrompt>('POST', 'party/me/prompts', { text });
    void this.refresh();
    return prompt;
  }

  private async poll(): Promise<void> {
    await this.refresh();
    if (!this.disposed) {
      this.timer = setTimeout(() => void this.poll(), this.options.pollMs ?? 2000);
    }
  }

  private render(): void {
    const v = this.view;
    setText(this.note, v ? `you are a ${v.me.role} in ${v.party.name}` +
      (v.me.state === 'pending' ? ' (waiting for the host’s approval)' : '') : '');
    if (!v) {
      this.body.replaceChildren();
      return;
    }
    const mine = v.prompts.filter(p => p.member === v.me.id);
    const others = v.prompts.filter(p => p.member !== v.me.id);
    replaceKeepingFocus(this.body, [
      heading('Members', v.members.length),
      h('ul', { class: 'om-members', 'aria-label': 'party members' },
        ...memberOrder(v.members).map(m => memberItem(m))),
      heading('Your prompts', mine.length),
      this.list(mine, 'your prompts', 'none yet: Overmind: New prompt… submits one'),
      heading('Other prompts', others.length),
      this.list(others, 'other prompts', 'none')
    ]);
  }

  private list(prompts: PartyPrompt[], label: string, empty: string): HTMLElement {
    if (!prompts.length) {
      return h('div', { class: 'om-empty' }, empty);
    }
    return h('ul', { class: 'om-prompts', 'aria-label': label }, ...prompts.map(p =>
      h('li', { class: 'om-prompt', 'data-prompt-id': p.id, 'data-state': p.state },
        promptHead(p))));
  }

  /** Stop polling. */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
    }
  }
}
