/**
 * The questions inbox (`%overmind questions` widget and the sidebar's Questions section):
 * every open question with its offered answers as buttons (approve / deny …) or a text
 * box when any answer goes. An answered question leaves the list when its
 * `question-answered` event arrives, in every view at once.
 */
import { frameThrottle, h, setText } from '../dom';
import type { Question } from '../events';
import type { Change, Session } from '../session';
import { connectionPill, showConnection } from './connection';

export interface QuestionsInboxOptions {
  title?: string;
  /** Called with the number of open questions after every change (badges). */
  onCount?: (count: number) => void;
}

export class QuestionsInbox {
  readonly el: HTMLElement;
  private readonly pill = connectionPill();
  private readonly list = h('ul', { class: 'om-questions', 'aria-label': 'open questions' });
  private readonly empty = h('div', { class: 'om-empty' }, 'no open questions');
  private readonly items = new Map<string, HTMLElement>();
  private readonly schedule = frameThrottle(() => this.render());
  private readonly unlisten: () => void;

  constructor(
    private readonly session: Session,
    private readonly options: QuestionsInboxOptions = {}
  ) {
    this.el = h('div', { class: 'om-view om-inbox' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, options.title ?? 'Questions'), this.pill),
      this.list, this.empty);
    this.unlisten = session.listen(change => this.changed(change));
    showConnection(this.pill, session.connection, session.detail);
    this.schedule();
  }

  private changed(change: Change): void {
    if (change.connection) {
      showConnection(this.pill, this.session.connection, this.session.detail);
    }
    if (change.questions || change.missions.size) {
      this.schedule();
    }
  }

  private render(): void {
    const open = this.session.questions.open;
    for (const [id, li] of this.items) {
      if (!open.has(id)) {
        li.remove();
        this.items.delete(id);
      }
    }
    for (const q of [...open.values()].sort((a, b) => a.asked_at - b.asked_at)) {
      if (!this.items.has(q.id)) {
        this.items.set(q.id, this.list.appendChild(this.item(q)));
      }
    }
    this.empty.hidden = open.size > 0;
    this.options.onCount?.(open.size);
  }

  private item(q: Question): HTMLElement {
    const mission = q.mission ? this.session.missions.rows.get(q.mission) : undefined;
    const error = h('div', { class: 'om-message', role: 'alert' });
    const li = h('li', { class: 'om-question', 'data-question-id': q.id },
      h('div', { class: 'om-question-head' },
        h('span', { class: 'om-kind' }, q.kind),
        h('span', { class: 'om-from' }, mission ? mission.name : (q.mission ?? '').slice(0, 8))),
      h('div', { class: 'om-question-text' }, q.text));
    const send = (text: string, controls: HTMLButtonElement[]) => {
      controls.forEach(c => (c.disabled = true));
      setText(error, '');
      this.session.backend.answer(q.id, text).then(
        () => this.session.applyAnswered(q.id),
        err => {
          controls.forEach(c => (c.disabled = false));
          setText(error, `answer failed: ${err instanceof Error ? err.message : err}`);
        });
    };
    li.append(q.options.length ? this.choices(q, send) : this.freeText(q, send), error);
    return li;
  }

  private choices(q: Question, send: (t: string, c: HTMLButtonElement[]) => void): HTMLElement {
    const buttons = q.options.map(option =>
      h('button', { class: 'om-button', type: 'button', 'data-answer': option }, option));
    buttons.forEach(b => b.addEventListener('click', () => send(b.dataset.answer as string, buttons)));
    return h('div', { class: 'om-answers' }, ...buttons);
  }

  private freeText(q: Question, send: (t: string, c: HTMLButtonElement[]) => void): HTMLElement {
    const input = h('input', { class: 'om-answer-text', type: 'text', 'aria-label': `answer to ${q.text}` });
    const button = h('button', { class: 'om-button', type: 'button' }, 'Answer');
    const go = () => input.value.trim() && send(input.value.trim(), [button]);
    button.addEventListener('click', go);
    input.addEventListener('keydown', e => e.key === 'Enter' && go());
    return h('div', { class: 'om-answers' }, input, button);
  }

  /** Stop listening. */
  dispose(): void {
    this.unlisten();
  }
}
