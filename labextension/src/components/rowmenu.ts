/**
 * A row's actions behind one small "⋯" button, for tables too narrow for a button per
 * action (the sidebar's mission table at 250 px, the `ps` widget in a narrow output).
 * The button (`aria-haspopup="menu"`) opens a menu (`role="menu"`, items
 * `role="menuitem"`) placed under it, right-aligned and never past the right edge of its
 * positioned ancestor (the table's view); above it when there is no room below in what
 * shows the view (the window, or the box that clips it: a notebook output), and where
 * there is room neither below nor above, the view grows by what the menu needs below
 * (its bottom padding, while the menu is open) so nothing of it is cut.
 *
 * Keyboard (WAI-ARIA menu button): Enter, Space or ArrowDown open it on the first
 * enabled item, ArrowUp on the last; ArrowUp/ArrowDown (wrapping), Home and End move
 * among enabled items; Escape closes it and focus returns to the button, as it does
 * when an item is chosen; Tab closes it and moves on. A click outside closes it.
 */
import { h } from '../dom';

/** One entry of a row menu: its label and what choosing it does. */
export interface RowMenuItem {
  label: string;
  run: () => void;
}

type Focus = 'first' | 'last';

/** The vertical span (viewport px) in which `el` can be seen: the window's, cut to the
 * nearest ancestor that clips its overflow (a scroll box such as a notebook output). */
function visibleSpan(el: HTMLElement): { top: number; bottom: number } {
  for (let at = el.parentElement; at; at = at.parentElement) {
    if (getComputedStyle(at).overflowY !== 'visible') {
      const box = at.getBoundingClientRect();
      return { top: Math.max(0, box.top), bottom: Math.min(window.innerHeight, box.bottom) };
    }
  }
  return { top: 0, bottom: window.innerHeight };
}

/** A menu button and its menu of a row's actions (see the module comment). */
export class RowMenu {
  /** The button and its menu, to put in the row's cell. */
  readonly el: HTMLElement;
  /** The items, in order, by label (disable one with its `disabled`). */
  readonly items = new Map<string, HTMLButtonElement>();
  private readonly button: HTMLButtonElement;
  private readonly menu: HTMLElement;
  /** The ancestor padded so the open menu fits below its button (see `grow`). */
  private grown: HTMLElement | null = null;
  private readonly outside = (event: PointerEvent) => {
    if (!this.el.contains(event.target as Node)) {
      this.close(false);
    }
  };

  /**
   * @param label the accessible name of the button and menu (`actions for NAME`).
   * @param entries the menu's items, in order.
   */
  constructor(label: string, entries: RowMenuItem[]) {
    this.button = h('button', {
      class: 'om-button om-rowmenu-button', type: 'button', 'aria-label': label,
      'aria-haspopup': 'menu', 'aria-expanded': 'false', title: label
    }, '⋯');
    this.menu = h('div', { class: 'om-rowmenu', role: 'menu', 'aria-label': label, hidden: true },
      ...entries.map(entry => this.item(entry)));
    this.el = h('span', { class: 'om-rowmenu-host' }, this.button, this.menu);
    this.button.addEventListener('click', () => (this.isOpen ? this.close(true) : this.open('first')));
    this.button.addEventListener('keydown', event => this.buttonKey(event));
    this.menu.addEventListener('keydown', event => this.menuKey(event));
  }

  /** Whether the menu is shown. */
  get isOpen(): boolean {
    return !this.menu.hidden;
  }

  /** Show the menu under the button and focus its first (or last) enabled item. */
  open(focus: Focus = 'first'): void {
    this.menu.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.place();
    document.addEventListener('pointerdown', this.outside, true);
    this.focusAt(focus === 'first' ? 0 : -1);
  }

  /** Hide the menu; `refocus`: give the focus back to the button. */
  close(refocus: boolean): void {
    if (this.isOpen) {
      this.menu.hidden = true;
      this.grown?.style.removeProperty('padding-bottom');
      this.grown = null;
      this.button.setAttribute('aria-expanded', 'false');
      document.removeEventListener('pointerdown', this.outside, true);
    }
    if (refocus) {
      this.button.focus();
    }
  }

  private item({ label, run }: RowMenuItem): HTMLButtonElement {
    const item = h('button', { class: 'om-rowmenu-item', type: 'button', role: 'menuitem', tabindex: -1 }, label);
    item.addEventListener('click', () => {
      this.close(true);
      run();
    });
    this.items.set(label, item);
    return item;
  }

  /** Under the button, right-aligned with it, inside the positioned ancestor's width;
   * above the button, or the ancestor grown, when there is no room below it (see the
   * module comment). */
  private place(): void {
    const host = (this.menu.offsetParent as HTMLElement | null) ?? document.body;
    const box = host.getBoundingClientRect();
    const left = box.left + host.clientLeft;
    const top = box.top + host.clientTop - host.scrollTop;
    const button = this.button.getBoundingClientRect();
    const { offsetWidth: width, offsetHeight: height } = this.menu;
    const right = left + host.clientWidth - button.right;
    this.menu.style.right = `${Math.max(0, Math.min(right, host.clientWidth - width))}px`;
    const span = visibleSpan(host);
    const short = button.bottom + height - span.bottom; // px the menu would be cut below
    const above = short > 0 && button.top - height >= span.top;
    this.menu.style.top = `${(above ? button.top - height : button.bottom) - top}px`;
    if (short > 0 && !above && host !== document.body) {
      this.grow(host, short);
    }
  }

  /** Pad `host` at the bottom by `px` more while the menu is open. */
  private grow(host: HTMLElement, px: number): void {
    const padding = parseFloat(getComputedStyle(host).paddingBottom) || 0;
    host.style.paddingBottom = `${padding + px}px`;
    this.grown = host;
  }

  private enabled(): HTMLButtonElement[] {
    return [...this.items.values()].filter(item => !item.disabled);
  }

  /** Focus the enabled item at `index`, wrapping round (-1: the last). */
  private focusAt(index: number): void {
    const items = this.enabled();
    if (items.length) {
      items[((index % items.length) + items.length) % items.length].focus();
    } else {
      this.menu.tabIndex = -1; // nothing applies: the menu itself holds the focus
      this.menu.focus();
    }
  }

  private move(step: number): void {
    const at = this.enabled().indexOf(document.activeElement as HTMLButtonElement);
    this.focusAt(at < 0 ? Math.min(step, 0) : at + step);
  }

  private buttonKey(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      this.open(event.key === 'ArrowDown' ? 'first' : 'last');
    }
  }

  private menuKey(event: KeyboardEvent): void {
    const moves: Record<string, () => void> = {
      ArrowDown: () => this.move(1),
      ArrowUp: () => this.move(-1),
      Home: () => this.focusAt(0),
      End: () => this.focusAt(-1),
      Escape: () => this.close(true)
    };
    if (event.key === 'Tab') {
      this.close(true); // the Tab then moves on from the button
    } else if (moves[event.key]) {
      event.preventDefault();
      event.stopPropagation(); // JupyterLab's shortcuts (Escape) stay out of it
      moves[event.key]();
    }
  }
}
