/**
 * The host's party panel (sidebar Party section and the `%overmind party` widget): members
 * with role and presence (role change, approve / deny, kick), the prompt queue (approve,
 * deny, move up / down, share), recent prompts, invites (new one shown once with a copy
 * button, revoke) and the parties this engine joined. Live from the session's `PartyPart`;
 * every action is a host REST call (`server/party_handlers.py`) whose event updates
 * every view.
 */
import { age, frameThrottle, h, setText } from '../dom';
import { type HostView, type PartyInvite, type PartyMember, PartyPart,
  type PartyPrompt } from '../party';
import type { Change, Session } from '../session';
import type { ViewFactory } from '../widgetview';
import { connectionPill, showConnection } from './connection';
import { Actions, heading, memberItem, memberOrder, promptHead,
  replaceKeepingFocus } from './partyrows';

const GUEST_ROLES = ['collaborator', 'reviewer', 'viewer'];
const RECENT = 8; // handled prompts listed under the queue

/** A new invite as `POST party/invites` (or `POST party`) answers it. */
export interface NewInvite {
  invite: string;
  name: string;
  role: string;
  expires_at: number;
}

export interface PartyPanelOptions {
  title?: string;
  /** Offered as a button when no party is hosted (the palette's Host party… command). */
  onHost?: () => void;
}

const enc = encodeURIComponent;

export class PartyPanel {
  readonly el: HTMLElement;
  readonly part: PartyPart;
  private readonly pill = connectionPill();
  private readonly name = h('span', { class: 'om-party-name' });
  private readonly body = h('div', { class: 'om-party-body' });
  private readonly actions = new Actions();
  private readonly reveal = h('div', { class: 'om-invite-reveal', hidden: true });
  private readonly schedule = frameThrottle(() => this.render());
  private readonly unlisten: () => void;
  private readonly timer: ReturnType<typeof setInterval>;

  /**
   * @param session the live state; a `PartyPart` is added to it unless it has one
   *   (`part`).
   */
  constructor(
    private readonly session: Session,
    part: PartyPart | null = null,
    private readonly options: PartyPanelOptions = {}
  ) {
    this.part = part ?? session.addPart(new PartyPart());
    this.el = h('div', { class: 'om-view om-party' },
      h('div', { class: 'om-header' },
        h('span', { class: 'om-title' }, options.title ?? 'Party'), this.name, this.pill),
      this.actions.error, this.reveal, this.body);
    this.unlisten = session.listen(change => this.changed(change));
    this.timer = setInterval(() => this.schedule(), 30_000); // invite expiry countdowns
    showConnection(this.pill, session.connection, session.detail);
    this.schedule();
  }

  private call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.session.backend.call<T>(method, path, body);
  }

  private changed(change: Change): void {
    if (change.connection) {
      showConnection(this.pill, this.session.connection, this.session.detail);
    }
    if (change.parts.has(this.part.key)) {
      if (this.part.error !== null) {
        void this.part.load(this.session.backend).then(() => this.schedule());
      } else if (this.part.joinedStale) {
        void this.refreshJoined();
      }
      this.schedule();
    }
  }

  /** Reload the parties this engine joined (after joining one). */
  async refreshJoined(): Promise<void> {
    await this.actions.run(null, () => this.part.reloadJoined(this.session.backend));
    this.schedule();
  }

  /** Show a new invite string once, with a copy button (until dismissed). */
  showInvite(invite: NewInvite): void {
    const field = h('input', { class: 'om-answer-text om-invite-string', type: 'text',
      readonly: true, 'aria-label': `invite ${invite.name}`, value: invite.invite });
    const copy = h('button', { class: 'om-button', type: 'button' }, 'Copy');
    copy.addEventListener('click', () => void copyText(field).then(ok =>
      setText(copy, ok ? 'Copied' : 'Select and copy')));
    const done = h('button', { class: 'om-button', type: 'button' }, 'Done');
    done.addEventListener('click', () => (this.reveal.hidden = true));
    const valid = age(invite.expires_at - Date.now() / 1000);
    this.reveal.replaceChildren(
      h('div', { class: 'om-invite-note' },
        `Invite ${invite.name} (${invite.role}, valid ${valid}): shown only now`),
      h('div', { class: 'om-invite-row' }, field, copy, done));
    this.reveal.hidden = false;
    field.select();
  }

  private render(): void {
    const hosting = this.part.hosting;
    setText(this.name, hosting ? hosting.party.name : '');
    const nodes = hosting ? this.hosted(hosting) : this.notHosting();
    if (this.part.error) {
      nodes.unshift(h('div', { class: 'om-message', role: 'alert' }, this.part.error));
    }
    if (this.part.joined.length) {
      nodes.push(heading('Joined parties'), this.joinedList());
    }
    replaceKeepingFocus(this.body, nodes);
  }

  private notHosting(): HTMLElement[] {
    const text = this.part.loaded ? 'no party hosted here' : 'loading…';
    const nodes: HTMLElement[] = [h('div', { class: 'om-empty' }, text)];
    if (this.options.onHost && this.part.loaded) {
      const b = h('button', { class: 'om-button', type: 'button', 'data-focus': 'host' },
        'Host a party…');
      b.addEventListener('click', () => this.options.onHost?.());
      nodes.push(b);
    }
    return nodes;
  }

  private hosted(v: HostView): HTMLElement[] {
    const recent = v.prompts.filter(p => p.state !== 'queued').slice(-RECENT).reverse();
    const active = v.invites.filter(i => i.state === 'active');
    return [
      heading('Members', v.members.filter(m => m.state === 'approved').length),
      h('ul', { class: 'om-members', 'aria-label': 'party members' },
        ...memberOrder(v.members).map(m => memberItem(m, ...this.memberControls(m)))),
      heading('Queue', v.queue.length),
      v.queue.length
        ? h('ol', { class: 'om-queue', 'aria-label': 'prompt queue' },
          ...v.queue.map((p, i) => this.queueItem(p, i, v.queue.length)))
        : h('div', { class: 'om-empty' }, 'no prompts waiting'),
      ...(recent.length ? [heading('Recent prompts'), h('ul', { class: 'om-prompts' },
        ...recent.map(p => this.promptItem(p)))] : []),
      heading('Invites', active.length),
      h('ul', { class: 'om-invites', 'aria-label': 'active invites' },
        ...active.map(i => this.inviteItem(i))),
      this.newInvite()
    ];
  }

  private memberControls(m: PartyMember): HTMLElement[] {
    const act = (action: string, role?: string) => () =>
      this.call('POST', `party/members/${enc(m.id)}`, { action, ...(role ? { role } : {}) });
    const b = (label: string, what: string) =>
      this.actions.button(label, `${m.id}:${what}`, act(what), `${label} ${m.name}`);
    if (m.role === 'host') {
      return [];
    }
    if (m.state === 'pending') {
      return [b('Approve', 'approve'), b('Deny', 'deny')];
    }
    if (m.state !== 'approved') {
      return [];
    }
    const select = h('select', { class: 'om-answer-text om-role-select',
      'data-focus': `${m.id}:role`, 'aria-label': `role of ${m.name}` },
    ...GUEST_ROLES.map(r => h('option', { value: r, selected: r === m.role }, r)));
    select.addEventListener('change', () =>
      void this.actions.run(select, act('role', select.value)));
    return [select, b('Kick', 'kick')];
  }

  private queueItem(p: PartyPrompt, i: number, n: number): HTMLElement {
    const act = (action: string, position?: number) => () => this.call('POST',
      `party/prompts/${enc(p.id)}`, { action, ...(position === undefined ? {} : { position }) });
    const b = (label: string, what: string, title: string, run: () => Promise<unknown>) =>
      this.actions.button(label, `${p.id}:${what}`, run, title);
    const up = b('↑', 'up', `move up prompt from ${p.name}`, act('move', i - 1));
    const down = b('↓', 'down', `move down prompt from ${p.name}`, act('move', i + 1));
    up.disabled = i === 0;
    down.disabled = i === n - 1;
    return h('li', { class: 'om-prompt', 'data-prompt-id': p.id, 'data-state': p.state },
      promptHead(p),
      h('div', { class: 'om-answers' },
        b('Approve', 'approve', `approve prompt from ${p.name}`, act('approve')),
        b('Deny', 'deny', `deny prompt from ${p.name}`, act('deny')), up, down,
        ...(p.visibility === 'private'
          ? [b('Share', 'share', `share prompt from ${p.name}`, act('share'))] : [])));
  }

  private promptItem(p: PartyPrompt): HTMLElement {
    return h('li', { class: 'om-prompt', 'data-prompt-id': p.id, 'data-state': p.state },
      promptHead(p));
  }

  private inviteItem(i: PartyInvite): HTMLElement {
    const left = age(i.expires_at - Date.now() / 1000);
    return h('li', { class: 'om-invite', 'data-invite-id': i.id },
      h('span', { class: 'om-invite-code' }, i.name),
      h('span', { class: 'om-role' }, i.role),
      h('span', { class: 'om-expires' }, `expires in ${left}`),
      this.actions.button('Revoke', `${i.id}:revoke`,
        () => this.call('POST', `party/invites/${enc(i.id)}/revoke`), `revoke invite ${i.name}`));
  }

  private newInvite(): HTMLElement {
    const role = h('select', { class: 'om-answer-text om-role-select',
      'data-focus': 'invite-role', 'aria-label': 'role of the invited' },
    ...GUEST_ROLES.map(r => h('option', { value: r }, r)));
    const create = this.actions.button('New invite', 'invite', async () =>
      this.showInvite(await this.call<NewInvite>('POST', 'party/invites', { role: role.value })),
    'create an invite');
    return h('div', { class: 'om-answers om-invite-new' }, role, create);
  }

  private joinedList(): HTMLElement {
    return h('ul', { class: 'om-joined', 'aria-label': 'joined parties' },
      ...this.part.joined.map(j => h('li', { class: 'om-joined-party',
        'data-connected': String(j.connected) },
      h('span', { class: 'om-party-name' }, j.party?.name ?? j.host),
      h('span', { class: 'om-member-name' }, `as ${j.name}`),
      h('span', { class: 'om-status' },
        j.ended ? `ended: ${j.ended}` : j.connected ? j.member?.state ?? 'connected'
          : 'reconnecting'))));
  }

  /** Stop listening. */
  dispose(): void {
    this.unlisten();
    clearInterval(this.timer);
  }
}

/** Copy `field`'s text to the clipboard; false when the page may not (select instead). */
async function copyText(field: HTMLInputElement): Promise<boolean> {
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
    return true;
  } catch {
    return document.execCommand?.('copy') ?? false;
  }
}

/**
 * The `party` widget view (`%overmind party`, `host`, `party invite`): the host's panel in
 * a notebook. When the model `reveals` a new invite (`host`, `party invite`), the view
 * asks the kernel for it (`{type: "reveal"}`) and shows the answer (`{type: "revealed",
 * invite}`) once: its secret reaches this view only, never the saved output or the
 * widget state (`overmind_jupyter/widgets/party.py`).
 */
export const partyView: ViewFactory = ({ model, session }) => {
  const panel = new PartyPanel(session());
  const revealed = (msg: any) => {
    if (msg?.type === 'revealed' && msg.invite) {
      panel.showInvite(msg.invite as NewInvite);
    }
  };
  model.on('msg:custom', revealed);
  if (model.get('reveals')) {
    model.send({ type: 'reveal' });
  }
  return {
    nodes: [panel.el],
    dispose: () => (model.off('msg:custom', revealed), panel.dispose())
  };
};
