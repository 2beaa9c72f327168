/**
 * Where a view opened "in the main area" lands, in JupyterLab and in Notebook 7.
 *
 * JupyterLab's main area takes any number of tabs. Notebook 7's shell keeps exactly one
 * widget in `main` (the notebook, or the file browser on `/tree`) and silently refuses
 * others; its `down` panel (under the notebook) takes them instead, and `right` is the
 * last resort. A view is placed in the first area that accepts it. Notebook 7 opens its
 * down panel with room for the tab bar only, so a view placed there gets a share of
 * the split it is in.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import { SplitPanel, type Widget } from '@lumino/widgets';

const AREAS = ['main', 'down', 'right'] as const;

/** The open view with this `id` in any area a view may land in, if any. */
export function findView(shell: JupyterFrontEnd.IShell, id: string): Widget | undefined {
  for (const area of AREAS) {
    const found = Array.from(shell.widgets(area)).find(w => w.id === id);
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** Add `widget` to the main area, or the first other area that accepts it; shows it. */
export function addView(shell: JupyterFrontEnd.IShell, widget: Widget): void {
  for (const area of AREAS) {
    shell.add(widget, area);
    if (widget.parent) {
      shell.activateById(widget.id);
      if (area === 'down') {
        giveRoom(widget);
      }
      return;
    }
  }
}

/** The panel holding `widget` in a vertical split gets at least 40 % of the height. */
function giveRoom(widget: Widget, share = 0.4): void {
  for (let w: Widget | null = widget; w?.parent; w = w.parent) {
    const split = w.parent;
    if (split instanceof SplitPanel && split.orientation === 'vertical') {
      const i = split.widgets.indexOf(w);
      const sizes = split.relativeSizes();
      if (sizes.length > 1 && sizes[i] < share) {
        split.setRelativeSizes(sizes.map((_, j) => (j === i ? share : (1 - share) / (sizes.length - 1))));
      }
      return;
    }
  }
}
