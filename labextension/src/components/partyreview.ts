/**
 * A reviewer's decision on a change of a mirrored objective (one a party's host runs and
 * this engine follows as a guest): the change's pre-review check (`change-checked`: the
 * tests run on it merged onto the target's tip) above Merge, Request changes… (what
 * should change: the host's objective gets a follow-up task) and Close. Each is this
 * server's `party_review` (`POST party/review`), which the party link takes to the host;
 * the host checks the role again. Shown only while this guest's role there is reviewer
 * (`MembershipPart.reviews`) and the change is undecided — or this view acted on it, so
 * its answer stays readable. Errors show inline and keep the requested text; the new
 * state arrives as mirrored events (the tree and the Objectives section show it).
 *
 * Used by the execution tree's change nodes and the sidebar's Objectives section.
 */
import type { Operations, PartyReviewBody } from '../api.gen';
import type { Backend } from '../backend';
import { REVIEWABLE, shownState } from '../changes';
import { h, setText } from '../dom';
import type { ChangeNode } from '../objectives';

/** The generated route of `party_review`. */
const PARTY_REVIEW: Operations['party_review']['path'] = 'party/review';

type Action = PartyReviewBody['action'];

/** What `party_review` answers (`ReviewService` on the host): a merge's `outcome`, or the
 * closed `change` and, for requested changes, the follow-up `task`. */
interface ReviewAnswer {
  outcome?: { state: string; message: string };
  task?: { name: string };
}

const WORKING: Record<Action, string> = {
  merge: 'merging: the host runs the tests first…',
  close: 'closing…',
  'request-changes': 'sending the review…'
};

/** The notice of a review the host answered. */
function answerText(action: Action, answer: ReviewAnswer): string {
  if (action === 'merge') {
    return answer.outcome ? `${answer.outcome.state}: ${answer.outcome.message}` : 'merged';
  }
  if (action === 'close') {
    return 'closed on the host';
  }
  return `changes requested: follow-up task ${answer.task?.name ?? ''} queued on the host`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface PartyReviewOptions {
  /** Name the change and its state first (where no change row above does). */
  titled?: boolean;
}

/** The review controls of one mirrored change (see the module comment). */
export class PartyReview {
  readonly el: HTMLElement;
  private readonly title = h('div', { class: 'om-party-review-title' });
  private readonly check = h('div', { class: 'om-check', 'aria-label': 'pre-review check' });
  private readonly text: HTMLTextAreaElement;
  private readonly form: HTMLElement;
  private readonly actions: HTMLElement;
  private readonly notice = h('div', { class: 'om-change-notice', role: 'status' });
  private readonly error = h('div', { class: 'om-message', role: 'alert' });
  private readonly buttons: HTMLButtonElement[] = [];
  private latest: ChangeNode | null = null;
  private reviewer = false;
  private busy = false;
  private acted = false;

  /**
   * @param backend this (the guest's) server.
   * @param changeId the host's change id.
   * @param via the local member name it is mirrored through (`party_review`'s `member`).
   */
  constructor(private readonly backend: Backend, readonly changeId: string,
    private readonly via: string, options: PartyReviewOptions = {}) {
    this.text = this.textField(changeId);
    this.form = h('div', { class: 'om-review-form', hidden: true }, this.text,
      this.button('Send review', `Send review of change ${changeId}`, () => this.requestChanges()));
    this.actions = h('div', { class: 'om-change-actions' },
      this.button('Merge', `Merge change ${changeId}`, () => void this.send('merge')),
      this.button('Request changes…', `Request changes… of change ${changeId}`, () => this.toggleForm()),
      this.button('Close', `Close change ${changeId}`, () => void this.send('close')));
    this.el = h('div', { class: 'om-party-review', 'data-change-id': changeId, hidden: true },
      options.titled ? this.title : null, this.check, this.actions, this.form, this.notice, this.error);
  }

  /** What should change: Ctrl/Cmd+Enter sends it, Enter alone adds a line. */
  private textField(changeId: string): HTMLTextAreaElement {
    const text = h('textarea', { class: 'om-review-text', rows: 3,
      'aria-label': `requested changes of change ${changeId}`,
      placeholder: 'What should change? The host\'s agent gets this and the diff.' });
    text.addEventListener('keydown', e => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        this.requestChanges();
      }
    });
    return text;
  }

  private button(label: string, name: string, onClick: () => void): HTMLButtonElement {
    const b = h('button', { class: 'om-button', type: 'button', 'aria-label': name }, label);
    b.addEventListener('click', onClick);
    this.buttons.push(b);
    return b;
  }

  /** Show `change` as it is now; `reviewer`: this guest may review it (else hidden). */
  render(change: ChangeNode, reviewer: boolean): void {
    this.latest = change;
    this.reviewer = reviewer;
    const open = REVIEWABLE.has(change.state);
    this.el.hidden = !reviewer || (!open && !this.acted);
    this.el.dataset.state = change.state;
    setText(this.title, `change ${change.id} · ${shownState(change)}`);
    this.actions.hidden = !open;
    this.form.hidden ||= !open;
    this.buttons.forEach(b => (b.disabled = this.busy));
    this.showCheck(open ? change : null);
  }

  /** The pre-review check while the change is undecided (what a reviewer reads first). */
  private showCheck(change: ChangeNode | null): void {
    const shown = change?.check ? `Checked before review: ${change.checkMessage || change.check}` : '';
    setText(this.check, shown);
    if (change?.check) {
      this.check.dataset.state = change.check;
    } else {
      delete this.check.dataset.state;
    }
  }

  private repaint(): void {
    if (this.latest) {
      this.render(this.latest, this.reviewer);
    }
  }

  private toggleForm(): void {
    this.form.hidden = !this.form.hidden;
    if (!this.form.hidden) {
      this.text.focus();
    }
  }

  private requestChanges(): void {
    const text = this.text.value.trim();
    if (!text) {
      setText(this.error, 'say what should change first');
      return;
    }
    void this.send('request-changes', text);
  }

  private body(action: Action, text?: string): PartyReviewBody {
    return { action, change: this.changeId, ...(text !== undefined ? { text } : {}),
      ...(this.via ? { member: this.via } : {}) };
  }

  /** Ask the host through this server; its answer (or error) shows here. */
  private async send(action: Action, text?: string): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = this.acted = true;
    setText(this.error, '');
    setText(this.notice, WORKING[action]);
    this.repaint();
    try {
      const answer = await this.backend.call<ReviewAnswer>('POST', PARTY_REVIEW, this.body(action, text));
      setText(this.notice, answerText(action, answer));
      if (action === 'request-changes') {
        this.text.value = '';
        this.form.hidden = true;
      }
    } catch (err) {
      setText(this.notice, '');
      setText(this.error, message(err)); // the requested text stays in its field
    } finally {
      this.busy = false;
      this.repaint();
    }
  }
}
