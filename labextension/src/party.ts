/**
 * The party as a session `Part` (key `party`): the snapshot from `GET party`
 * (`PartyService.party_status`: the hosted party — `party.view.host_status` — and the
 * parties this engine joined), kept live from the party events of `events.py`.
 *
 * Events of the hosted party update its members, invites and prompts in place (each event
 * carries the whole row, so applying one again changes nothing). Events mirrored from a
 * party this engine joined (`data.mirror`) only mark `joined` stale: their detail lives on
 * the host, and the panel reloads it (`reloadJoined`). A snapshot that cannot be read is
 * kept as `error` instead of failing the session (missions stay live); the panel shows it
 * and reloads on the next party event.
 */
import type { Backend } from './backend';
import type { OvermindEvent } from './events';
import type { Part } from './session';

/** A member row: `{id, name, role (host|reviewer|collaborator|viewer), state}`
 * (state: pending | approved | denied | kicked | left). */
export interface PartyMember {
  id: string;
  name: string;
  role: string;
  state: string;
  /** Whether the member had a live party websocket when the snapshot was taken (null for
   * the host and hub members, who use REST; see `components/partyrows.ts`). */
  connected?: boolean | null;
  /** The host's view only: the member's share of its objectives' model use (tokens; USD;
   * `party_view.member_spending`). */
  spent?: { tokens: number; cost_usd: number };
}

/** An invite: `name` is its code (the secret is never listed); `expires_at` in epoch s. */
export interface PartyInvite {
  id: string;
  name: string;
  role: string;
  state: string;
  expires_at: number;
}

/** A prompt: `text` absent when redacted; `state` queued | approved | grouped | done |
 * denied; `outcome` once done: its objective's final state (done | failed | cancelled);
 * `position` orders the queue; `visibility` private | shared. */
export interface PartyPrompt {
  id: string;
  member: string;
  name: string;
  state: string;
  outcome?: string;
  text?: string;
  position: number;
  visibility?: string;
  created_at?: number;
}

/** The hosted party (`host_status`). */
export interface HostView {
  party: { id: string; name: string; state: string; host?: string };
  members: PartyMember[];
  invites: PartyInvite[];
  queue: PartyPrompt[];
  prompts: PartyPrompt[];
}

/** A party this engine joined as a guest (`PartyLink.status`). */
export interface JoinedParty {
  host: string;
  name: string;
  connected: boolean;
  ended: string | null;
  party?: { id: string; name: string };
  member?: PartyMember;
}

/** `GET party`. */
export interface PartyStatus {
  hosting: HostView | null;
  joined: JoinedParty[];
}

/** A member's own view (`GET party/me`, `party_view.guest_status`). */
export interface MemberView {
  party: { id: string; name: string; state: string };
  me: PartyMember;
  members: PartyMember[];
  queue: PartyPrompt[];
  prompts: PartyPrompt[];
}

/** The hosted party's rows by id (what events update). */
interface Hosted {
  party: HostView['party'];
  members: Map<string, PartyMember>;
  invites: Map<string, PartyInvite>;
  prompts: Map<string, PartyPrompt>;
}

function byId<T extends { id: string }>(rows: T[]): Map<string, T> {
  return new Map(rows.map(r => [r.id, { ...r }]));
}

/** Queue order: queued prompts by position. */
export function queued(prompts: Iterable<PartyPrompt>): PartyPrompt[] {
  return [...prompts].filter(p => p.state === 'queued').sort((a, b) => a.position - b.position);
}

export class PartyPart implements Part {
  readonly key = 'party';
  private hosted: Hosted | null = null;
  /** Parties this engine joined (from the last snapshot or `reloadJoined`). */
  joined: JoinedParty[] = [];
  /** True when events arrived for a joined party since `joined` was loaded. */
  joinedStale = false;
  /** True once a snapshot was loaded. */
  loaded = false;

  /** Why the last snapshot could not be read (null when it was). */
  error: string | null = null;

  /** Read `GET party`; a failure is kept in `error` (the party panel shows it) rather than
   * failing the session's snapshot, so missions and questions stay live without it. */
  async load(backend: Backend): Promise<void> {
    try {
      this.set(await backend.call<PartyStatus>('GET', 'party'));
    } catch (err) {
      this.error = `party: ${err instanceof Error ? err.message : String(err)}`;
      this.loaded = true;
    }
  }

  /** Replace the state with a `GET party` answer. */
  set(status: PartyStatus): void {
    const h = status.hosting;
    this.hosted = h && { party: { ...h.party }, members: byId(h.members),
      invites: byId(h.invites), prompts: byId(h.prompts) };
    this.joined = status.joined;
    this.joinedStale = false;
    this.loaded = true;
    this.error = null;
  }

  /** Reload the joined parties (after `joinedStale`); the hosted state is kept. */
  async reloadJoined(backend: Backend): Promise<void> {
    this.joinedStale = false;
    this.joined = (await backend.call<PartyStatus>('GET', 'party')).joined;
  }

  /** The hosted party (members, invites, queue in order, every prompt), or null. */
  get hosting(): HostView | null {
    const h = this.hosted;
    if (!h) {
      return null;
    }
    const prompts = [...h.prompts.values()];
    return { party: h.party, members: [...h.members.values()], invites: [...h.invites.values()],
      queue: queued(prompts), prompts };
  }

  apply(e: OvermindEvent<string>): boolean {
    const d = e.data as Record<string, any>;
    if (!e.party || !/^(party|member|invite|prompt)-/.test(e.type)) {
      return false;
    }
    if (d.mirror) {
      this.joinedStale = true;
      return true;
    }
    if (this.error !== null) {
      return true; // the panel reloads the snapshot that failed
    }
    if (e.type === 'party-opened') {
      return this.opened(e.party, d);
    }
    const h = this.hosted;
    if (!h || h.party.id !== e.party) {
      return false;
    }
    if (e.type === 'party-closed') {
      this.hosted = null;
      return true;
    }
    return this.applyRow(h, e.type, d);
  }

  private opened(id: string, d: Record<string, any>): boolean {
    if (this.hosted?.party.id === id) {
      return false;
    }
    this.hosted = { party: { id, name: String(d.name), state: 'open' }, members: new Map(),
      invites: new Map(), prompts: new Map() };
    return true;
  }

  private applyRow(h: Hosted, type: string, d: Record<string, any>): boolean {
    if (type.startsWith('member-')) {
      h.members.set(d.member, { ...h.members.get(d.member), id: d.member, name: d.name,
        role: d.role, state: d.state,
        ...(typeof d.connected === 'boolean' ? { connected: d.connected } : {}) });
    } else if (type.startsWith('invite-')) {
      const state = d.state ?? (type === 'invite-created' ? 'active' : 'revoked');
      h.invites.set(d.id, { id: d.id, name: d.code, role: d.role, state,
        expires_at: d.expires_at });
    } else if (type.startsWith('prompt-')) {
      const { status, ...rest } = d;
      h.prompts.set(d.id, { ...h.prompts.get(d.id), ...rest, state: status } as PartyPrompt);
    } else {
      return false;
    }
    return true;
  }
}
