/**
 * Shared pieces of the party views (`party.ts` host panel, `partymember.ts` member view):
 * action buttons that report failures, focus kept across re-renders, member rows.
 * Text only (`dom.ts`): names and prompt texts come from guests.
 */
import { clip, h, setText } from '../dom';
import { amountText } from './usage';
import type { PartyMember, PartyPrompt } from '../party';

/** Presence of a member, derived from its state (member events) and, for an approved
 * member, the `connected` flag of the last `GET party` snapshot (`party_view.host_status`:
 * false = no live party websocket; no event reports connections, so it is as fresh as the
 * snapshot). */
export type Presence = 'present' | 'away' | 'waiting' | 'gone';

/** `present` (approved), `away` (approved, not connected), `waiting` (pending approval)
 * or `gone` (denied, kicked, left). */
export function presence(m: PartyMember): Presence {
  if (m.state === 'approved') {
    return m.connected === false && m.role !== 'host' ? 'away' : 'present';
  }
  return m.state === 'pending' ? 'waiting' : 'gone';
}

const PRESENCE_LABEL: Record<Presence, string> = {
  present: 'in the party', away: 'not connected', waiting: 'waiting for approval', gone: 'gone'
};

/** Members in display order: the host, then present, waiting, gone (each by name). */
export function memberOrder(members: PartyMember[]): PartyMember[] {
  const rank = (m: PartyMember) => (m.role === 'host' ? -1
    : ['present', 'away', 'waiting', 'gone'].indexOf(presence(m)));
  return [...members].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** One member: presence dot, name, role; `extra` controls appended. */
export function memberItem(m: PartyMember, ...extra: HTMLElement[]): HTMLElement {
  const p = presence(m);
  const label = m.state === 'approved' || m.state === 'pending' ? PRESENCE_LABEL[p] : m.state;
  return h('li', { class: 'om-member', 'data-member-id': m.id, 'data-state': m.state,
    'data-role': m.role, 'data-presence': p },
  h('span', { class: 'om-presence', title: label, 'aria-label': label }),
  h('span', { class: 'om-member-name' }, m.name),
  h('span', { class: 'om-role' }, m.role),
  m.spent?.tokens ? h('span', { class: 'om-member-spent', title: 'its share of the model use of the objectives its prompts joined' },
    amountText({ tokens: m.spent.tokens, cost: m.spent.cost_usd, unpriced: m.spent.cost_usd ? 0 : 1 })) : '',
  ...extra);
}

/** What a prompt's status reads as: its objective's outcome once done (a prompt whose
 * objective failed is `failed`, not `done`), else its state. */
export function promptStatus(p: PartyPrompt): string {
  return p.state === 'done' && p.outcome ? p.outcome : p.state;
}

/** A prompt's line: who, status, and its text when the viewer may see it. */
export function promptHead(p: PartyPrompt): HTMLElement {
  const status = promptStatus(p);
  return h('div', { class: 'om-prompt-head' },
    h('span', { class: 'om-from' }, p.name),
    h('span', { class: 'om-status', 'data-status': status }, status),
    p.text !== undefined && h('span', { class: 'om-prompt-text', title: p.text },
      clip(p.text, 240)));
}

/** A heading with a count: `Queue (3)`. */
export function heading(text: string, count?: number): HTMLElement {
  return h('h3', { class: 'om-party-heading' }, count === undefined ? text : `${text} (${count})`);
}

/**
 * Runs view actions: disables the control while its request runs, shows a failure in
 * the `error` element (role=alert) and clears it on the next success.
 */
export class Actions {
  readonly error = h('div', { class: 'om-message', role: 'alert' });

  /** A button running `act` on click (`key`: `data-focus` kept across re-renders). */
  button(label: string, key: string, act: () => Promise<unknown>, title?: string):
    HTMLButtonElement {
    const b = h('button', { class: 'om-button', type: 'button', 'data-focus': key,
      'aria-label': title ?? label, title: title ?? label }, label);
    b.addEventListener('click', () => void this.run(b, act));
    return b;
  }

  /** Run `act` with `control` disabled; failures go to `error`. */
  async run(control: HTMLButtonElement | HTMLSelectElement | null,
    act: () => Promise<unknown>): Promise<boolean> {
    if (control) {
      control.disabled = true;
    }
    try {
      await act();
      setText(this.error, '');
      return true;
    } catch (err) {
      setText(this.error, err instanceof Error ? err.message : String(err));
      return false;
    } finally {
      if (control) {
        control.disabled = false;
      }
    }
  }
}

/** Replace `body`'s children with `nodes`, keeping focus on the control with the same
 * `data-focus` key (keyboard users stay where they were after a live update). */
export function replaceKeepingFocus(body: HTMLElement, nodes: Node[]): void {
  const active = document.activeElement as HTMLElement | null;
  const key = active && body.contains(active) ? active.dataset.focus : undefined;
  body.replaceChildren(...nodes);
  if (key) {
    body.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
  }
}
