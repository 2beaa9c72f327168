/**
 * This engine's own memberships in the parties it joined, as a session `Part` (key
 * `membership`): which role each local member name has there, so views of mirrored
 * objectives know whether this guest may review their changes.
 *
 * The snapshot is `GET party` (`PartyService.party_status`: `joined[].member`, kept
 * current by the party link). Live: a mirrored `member-*` event about a member whose name
 * is the local name it came through (`data.mirror.via`: the link joined under that name)
 * is this engine's own membership — the host changed its role, kicked it, or it left.
 * Mirrored objectives carry the same `via`, so `role(via)` answers for them.
 */
import type { Operations } from './api.gen';
import type { Backend } from './backend';
import type { OvermindEvent } from './events';
import type { PartyStatus } from './party';
import type { Part } from './session';

/** `GET party` (the generated route of `party_status`). */
const PARTY_STATUS: Operations['party_status']['path'] = 'party';

/** One membership: the member's role (reviewer | collaborator | viewer) and state
 * (pending | approved | kicked | left …). */
export interface Membership {
  role: string;
  state: string;
}

export class MembershipPart implements Part {
  readonly key = 'membership';
  /** Memberships by local member name (`via`). */
  readonly byName = new Map<string, Membership>();

  /** Read `GET party`; when it cannot be read no membership is known (read-only views). */
  async load(backend: Backend): Promise<void> {
    try {
      const status = await backend.call<PartyStatus>('GET', PARTY_STATUS);
      for (const joined of status.joined) {
        if (joined.member && !joined.ended) {
          this.byName.set(joined.name, { role: joined.member.role, state: joined.member.state });
        }
      }
    } catch {
      this.byName.clear(); // e.g. a JupyterHub visitor: no joined party to act in
    }
  }

  apply(e: OvermindEvent<string>): boolean {
    const d = e.data as Record<string, any>;
    const via = d.mirror?.via;
    if (!e.type.startsWith('member-') || typeof via !== 'string' || d.name !== via) {
      return false;
    }
    this.byName.set(via, { role: String(d.role), state: String(d.state) });
    return true;
  }

  /** The role of the membership behind `via`, or null when unknown. */
  role(via: string): string | null {
    return this.byName.get(via)?.role ?? null;
  }

  /** Whether the member behind `via` may merge, close or request changes there. */
  reviews(via: string): boolean {
    const m = this.byName.get(via);
    return m !== undefined && m.state === 'approved' && ['reviewer', 'host'].includes(m.role);
  }
}
