/**
 * Cancel for an objective that has not ended (the execution tree's objective node and the
 * sidebar's Objectives rows): `POST objectives/{id}/cancel`, asked inline first — the
 * button turns into "Cancel objective? Yes / No" (no blocking browser dialog, which would
 * freeze the page's live views). A refusal shows inline (role=alert); the new state
 * ("cancelled") then comes from the events, like every other state.
 */
import type { Backend } from '../backend';
import { h, setText } from '../dom';

const ENDED = new Set(['done', 'failed', 'cancelled']);

/** The inline Cancel control of one objective. */
export class CancelControl {
  readonly el: HTMLElement;
  private readonly start = h('button', { class: 'om-button om-cancel-start', type: 'button' }, 'Cancel');
  private readonly ask = h('span', { class: 'om-cancel-ask', role: 'group' });
  private readonly yes = h('button', { class: 'om-button om-danger', type: 'button' }, 'Yes');
  private readonly no = h('button', { class: 'om-button', type: 'button' }, 'No');
  private readonly error = h('span', { class: 'om-cancel-error', role: 'alert' });
  private busy = false;

  /**
   * @param backend the engine.
   * @param objective the objective's id.
   */
  constructor(private readonly backend: Backend, readonly objective: string) {
    this.start.setAttribute('aria-label', `cancel objective ${objective}`);
    this.yes.setAttribute('aria-label', `yes, cancel objective ${objective}`);
    this.no.setAttribute('aria-label', `no, keep objective ${objective}`);
    this.ask.setAttribute('aria-label', `cancel objective ${objective}?`);
    this.ask.append(h('span', { class: 'om-cancel-question' }, 'Cancel objective?'), this.yes, this.no);
    this.el = h('span', { class: 'om-cancel' }, this.start, this.ask, this.error);
    this.start.addEventListener('click', () => this.asking(true));
    this.no.addEventListener('click', () => this.asking(false));
    this.yes.addEventListener('click', () => void this.cancel());
    this.ask.addEventListener('keydown', e => {
      if (e.key === 'Escape') {
        this.asking(false);
      }
    });
    this.ask.hidden = this.error.hidden = true;
  }

  /** Shown only while the objective in `state` can still be cancelled, and here
   * (`actionable`: false for an objective mirrored from a party's host). */
  show(state: string, actionable = true): void {
    this.el.hidden = !actionable || ENDED.has(state);
  }

  private asking(on: boolean, focus = true): void {
    this.start.hidden = on;
    this.ask.hidden = !on;
    if (focus) {
      (on ? this.no : this.start).focus(); // "No" first: Enter alone never cancels
    }
  }

  private async cancel(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    this.yes.disabled = this.no.disabled = true;
    setText(this.error, '');
    this.error.hidden = true;
    try {
      await this.backend.call('POST', `objectives/${encodeURIComponent(this.objective)}/cancel`);
      this.asking(false, false);
      this.start.hidden = true; // until the `cancelled` status hides the whole control
    } catch (err) {
      setText(this.error, `not cancelled: ${err instanceof Error ? err.message : String(err)}`);
      this.error.hidden = false;
      this.asking(false);
    } finally {
      this.busy = false;
      this.yes.disabled = this.no.disabled = false;
    }
  }
}
