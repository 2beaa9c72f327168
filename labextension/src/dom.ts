/**
 * A tiny DOM builder. Text always goes in through `textContent`, never as markup, so
 * agent output and user input cannot inject HTML (notes/security.md).
 */

type Child = Node | string | null | undefined | false;

/** Attributes: `class`, `data-*`, `aria-*`, `title`, `type`, … (set as attributes). */
export type Attrs = Record<string, string | number | boolean | undefined>;

/** `h('button', {class: 'x'}, 'Stop')`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === true) {
      el.setAttribute(key, '');
    } else if (value !== undefined && value !== false) {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children) {
    if (child) {
      el.append(child);
    }
  }
  return el;
}

/** Set `el.textContent` only when it changed (keeps DOM mutations to what changed). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) {
    el.textContent = text;
  }
}

/** Compact duration: `42s`, `7m`, `3h`, `2d` (same as `render.age` in Python). */
export function age(seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size) {
      return `${Math.floor(seconds / size)}${unit}`;
    }
  }
  return `${Math.max(0, Math.floor(seconds))}s`;
}

/** Bytes as `12.3 MiB` (binary units). */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** `text` clipped to `width` characters with an ellipsis. */
export function clip(text: string, width: number): string {
  return text.length <= width ? text : text.slice(0, width - 1) + '…';
}

/** Run `fn` at most once per animation frame (coalesces bursts of events). */
export function frameThrottle(fn: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) {
      return;
    }
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  };
}
