/**
 * The sidebar's prompt box: a prompt's text (Ctrl/Cmd+Enter submits), the agent that
 * works on it, the model its agents run on (among the server's choices, shown when there
 * are several), "hold for review" and an optional budget, posted to `POST prompts`
 * (`PromptBody`); above it, one line saying which model answers (`GET model`). Without a
 * usable model Submit is disabled and the line says what to set on the server. The text
 * is kept on any error (the server's message shows inline) and cleared only once the
 * server has answered with the objective; the choices stay for the next prompt.
 */
import type { PromptBody } from '../api.gen';
import type { Backend } from '../backend';
import { h, setText } from '../dom';
import type { Change, Session } from '../session';

/** One model a prompt may give its agents (`engine.models.Models.choice_rows`). */
export interface ModelChoice {
  /** What `POST prompts` takes back as `model` (a URL without user info). */
  id: string;
  name: string | null;
  provider: string | null;
  configured: boolean;
  problem: string | null;
}

/** `GET model` (`llm.registry.describe_model`): whether a key is set, never the key. */
export interface ModelStatus {
  configured: boolean;
  model: string | null;
  provider: string | null;
  name: string | null;
  endpoint: string | null;
  scripted: boolean;
  key_set: boolean;
  problem: string | null;
  /** The server-side variables that choose the model. */
  settings: string[];
  /** The models a prompt may choose, the default first. */
  choices: ModelChoice[];
}

/** One row of `GET agents` (`agents.adapters.rows`). */
export interface AgentRow {
  name: string;
  title: string;
  installed: boolean;
  install: string;
}

/** What `POST prompts` answers: the objective (an engine that joined a party as a
 * guest answers the prompt queued there instead: no title). */
interface Submitted {
  id: string;
  title?: string;
  state?: string;
}

export interface PromptBoxOptions {
  /** "hold for review" checked at first (settings: `holdForReview`). */
  holdForReview: boolean;
  /** The agent chosen at first when the server has it ('' : the server's default). */
  defaultAgent: string;
}

export const NO_MODEL = 'no model configured — set OVERMIND_MODEL or c.Overmind.model on the server';

/** The model status in one line: what answers, or what to set on the server. */
export function modelLine(status: ModelStatus): string {
  if (!status.model) {
    return NO_MODEL;
  }
  if (!status.configured) {
    return `${status.model} cannot answer: ${status.problem ?? 'not configured'}`;
  }
  if (status.scripted) {
    return 'answers: scripted model (test double)';
  }
  const where = status.endpoint ? ` at ${status.endpoint}` : ` via ${status.provider}`;
  return `answers: ${status.name}${where} (real model)`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A number field's value, or undefined when empty (the server checks the range). */
function numberOf(input: HTMLInputElement): number | undefined {
  return input.value.trim() === '' ? undefined : Number(input.value);
}

/** A model choice as an option: the default one's value is '' (the request names none). */
function choiceOption(choice: ModelChoice, index: number): HTMLOptionElement {
  return h('option', { value: index === 0 ? '' : choice.id, disabled: !choice.configured,
    title: choice.configured ? choice.id : (choice.problem ?? 'not configured') },
  index === 0 ? `${choice.id} (default)` : choice.id);
}

function field(label: string, control: HTMLElement): HTMLElement {
  return h('label', { class: 'om-prompt-field' }, h('span', { class: 'om-prompt-label' }, label), control);
}

let boxes = 0; // ids for aria-describedby, unique per page

/** The prompt box (see the module comment); a sidebar section. */
export class PromptBox {
  readonly el: HTMLElement;
  private readonly modelId = `om-model-status-${++boxes}`;
  private readonly model = h('div', { class: 'om-model-status', id: this.modelId }, 'model: …');
  private readonly text = h('textarea', { class: 'om-prompt-input', rows: 4, 'aria-label': 'prompt',
    placeholder: 'What should the team do? Ctrl+Enter submits' });
  private readonly agent = h('select', { class: 'om-prompt-agent', 'aria-label': 'agent' },
    h('option', { value: '' }, 'default'));
  private readonly modelChoice = h('select', { class: 'om-prompt-model', 'aria-label': 'model' });
  private readonly modelField = field('model', this.modelChoice);
  private readonly hold = h('input', { type: 'checkbox', class: 'om-prompt-hold' });
  private readonly tokens = h('input', { type: 'number', class: 'om-prompt-budget', min: 1, step: 1,
    placeholder: 'tokens', 'aria-label': 'budget: most tokens' });
  private readonly usd = h('input', { type: 'number', class: 'om-prompt-budget', min: 0, step: 0.01,
    placeholder: 'USD', 'aria-label': 'budget: most USD' });
  private readonly submitButton = h('button', { class: 'om-button om-prompt-submit', type: 'button',
    'aria-describedby': this.modelId }, 'Submit');
  private readonly result = h('div', { class: 'om-prompt-result', role: 'status' });
  private readonly error = h('div', { class: 'om-message om-prompt-error', role: 'alert' });
  private readonly backend: Backend;
  private readonly unlisten: () => void;
  private status: ModelStatus | null = null;
  private submitting = false;

  constructor(private readonly session: Session, private readonly options: PromptBoxOptions) {
    this.backend = session.backend;
    this.hold.checked = options.holdForReview;
    this.modelField.hidden = true; // until the server lists more than one choice
    this.el = h('div', { class: 'om-view om-prompt-box' },
      h('div', { class: 'om-header' }, h('span', { class: 'om-title' }, 'Prompt')),
      this.model, this.text,
      h('div', { class: 'om-prompt-row' }, field('agent', this.agent), this.modelField,
        h('label', { class: 'om-prompt-field' }, this.hold, 'hold for review')),
      h('div', { class: 'om-prompt-row' }, h('span', { class: 'om-prompt-label' }, 'budget'),
        this.tokens, this.usd),
      h('div', { class: 'om-prompt-row' }, this.submitButton),
      this.result, this.error);
    this.listen();
    this.unlisten = session.listen(change => this.reconnected(change));
    this.update();
    void this.refresh();
  }

  /** Load the model status and the agents again (the server may have been restarted). */
  async refresh(): Promise<void> {
    await Promise.all([this.loadModel(), this.loadAgents()]);
  }

  private listen(): void {
    this.text.addEventListener('input', () => this.update());
    this.text.addEventListener('keydown', e => {
      // Enter adds a line; Ctrl/Cmd+Enter submits, as in the New prompt… dialog
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        void this.submit();
      }
    });
    this.submitButton.addEventListener('click', () => void this.submit());
    this.modelChoice.addEventListener('change', () => { this.modelChoice.title = this.chosenModel(); });
  }

  private reconnected(change: Change): void {
    if (change.connection && this.session.connection === 'live' && this.status === null) {
      void this.refresh(); // the first load failed (server down): try again now it is back
    }
  }

  private async loadModel(): Promise<void> {
    try {
      this.status = await this.backend.call<ModelStatus>('GET', 'model');
      setText(this.model, modelLine(this.status));
      this.model.title = `set on the server: ${this.status.settings.join(', ')}` +
        (this.status.model ? `\nmodel: ${this.status.model}` : '') + '\n(%overmind status shows it too)';
      this.model.dataset.configured = String(this.status.configured);
      this.showChoices(this.status.choices);
    } catch (err) {
      this.status = null;
      setText(this.model, `model status unavailable: ${message(err)}`);
      delete this.model.dataset.configured;
    }
    this.update();
  }

  /** The model select: the server's choices, the one chosen before kept when still usable;
   * hidden when there is nothing to choose. */
  private showChoices(choices: ModelChoice[]): void {
    const chosen = this.modelChoice.value;
    this.modelChoice.replaceChildren(...choices.map(choiceOption));
    const usable = choices.slice(1).some(c => c.id === chosen && c.configured);
    this.modelChoice.value = usable ? chosen : '';
    this.modelChoice.title = this.chosenModel();
    this.modelField.hidden = choices.length < 2;
  }

  /** The id of the model chosen in the select (the default's when none is). */
  private chosenModel(): string {
    return this.modelChoice.value || (this.status?.choices[0]?.id ?? '');
  }

  private async loadAgents(): Promise<void> {
    let rows: AgentRow[];
    try {
      rows = (await this.backend.call<{ agents: AgentRow[] }>('GET', 'agents')).agents;
    } catch {
      return; // the default stays choosable; the model line says what is wrong
    }
    const chosen = this.agent.value || this.options.defaultAgent;
    this.agent.replaceChildren(h('option', { value: '' }, 'default'), ...rows.map(a =>
      h('option', { value: a.name, disabled: !a.installed, title: a.installed ? a.title : a.install },
        a.installed ? a.name : `${a.name} (not installed)`)));
    const usable = rows.some(a => a.name === chosen && a.installed);
    this.agent.value = usable ? chosen : '';
  }

  /** Whether the server said no model can answer (then nothing is sent). */
  private noModel(): boolean {
    return this.status !== null && !this.status.configured;
  }

  private update(): void {
    const button = this.submitButton;
    button.disabled = this.submitting || this.noModel() || !this.text.value.trim();
    setText(button, this.submitting ? 'Grouping prompt…' : 'Submit');
    button.title = this.noModel() ? modelLine(this.status as ModelStatus) : 'Submit (Ctrl+Enter)';
    this.text.readOnly = this.submitting; // what the answer clears is what was sent
    this.el.setAttribute('aria-busy', String(this.submitting));
  }

  /** The request: every choice made, none the user left open. */
  private body(text: string): PromptBody {
    const body: PromptBody = { text, wait: false, auto_merge: !this.hold.checked };
    if (this.agent.value) {
      body.agent = this.agent.value;
    }
    if (this.modelChoice.value) {
      body.model = this.modelChoice.value; // the default's option sends none
    }
    const [tokens, usd] = [numberOf(this.tokens), numberOf(this.usd)];
    if (tokens !== undefined) {
      body.max_tokens = tokens;
    }
    if (usd !== undefined) {
      body.max_cost_usd = usd;
    }
    return body;
  }

  /** Submit the text; it is cleared only when the server has taken it. */
  async submit(): Promise<void> {
    const text = this.text.value.trim();
    if (!text || this.submitting || this.noModel()) {
      return;
    }
    this.submitting = true;
    this.update();
    setText(this.error, '');
    setText(this.result, 'submitted: the story agent is grouping it into an objective…');
    try {
      const answer = await this.backend.call<Submitted>('POST', 'prompts', this.body(text));
      this.text.value = '';
      setText(this.result, answer.title !== undefined ? `objective ${answer.id}: ${answer.title}`
        : `prompt ${answer.id} ${answer.state ?? 'queued'} in the party`);
    } catch (err) {
      setText(this.result, '');
      setText(this.error, message(err));
    } finally {
      this.submitting = false;
      this.update();
    }
  }

  dispose(): void {
    this.unlisten();
  }
}
