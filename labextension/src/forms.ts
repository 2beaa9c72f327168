/**
 * Small forms in JupyterLab dialogs (`showDialog` of @jupyterlab/apputils): labelled text
 * fields, a multi-line one as a textarea. Used by the palette commands that need more
 * than one value (host a party, join one, a new prompt).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { h } from './dom';

/** One field: `key` in the result, its label, an optional placeholder and multi-line. */
export interface Field {
  key: string;
  label: string;
  placeholder?: string;
  multiline?: boolean;
  value?: string;
}

/** The dialog body: the fields, and their values (trimmed) as `getValue()`. */
class FormBody extends Widget {
  private readonly inputs: (HTMLInputElement | HTMLTextAreaElement)[];

  constructor(fields: Field[]) {
    super();
    this.addClass('om-form');
    this.inputs = fields.map(f => {
      const input = f.multiline
        ? h('textarea', { class: 'om-answer-text om-form-input', rows: 8, name: f.key,
          placeholder: f.placeholder })
        : h('input', { class: 'om-answer-text om-form-input', type: 'text', name: f.key,
          placeholder: f.placeholder });
      input.value = f.value ?? '';
      input.addEventListener('keydown', (e: Event) => {
        const key = e as KeyboardEvent;
        // Enter adds a line in a textarea (the dialog leaves it alone): Ctrl+Enter accepts
        if (key.key === 'Enter' && (key.ctrlKey || key.metaKey)) {
          input.closest('.jp-Dialog')?.querySelector<HTMLButtonElement>('.jp-mod-accept')?.click();
        }
      });
      this.node.append(h('label', { class: 'om-form-field' },
        h('span', { class: 'om-form-label' }, f.label), input));
      return input;
    });
  }

  getValue(): Record<string, string> {
    return Object.fromEntries(this.inputs.map(i => [i.name, i.value.trim()]));
  }
}

/**
 * Ask for `fields` in a dialog titled `title` with an `accept` button. Resolves to the
 * values by key (trimmed), or null when cancelled. In a multi-line field Enter adds a
 * line; Ctrl/Cmd+Enter accepts.
 */
export async function askForm(title: string, fields: Field[], accept: string):
  Promise<Record<string, string> | null> {
  const body = new FormBody(fields);
  const result = await showDialog({
    title, body, focusNodeSelector: '.om-form-input',
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: accept })]
  });
  return result.button.accept ? (result.value as Record<string, string>) : null;
}
