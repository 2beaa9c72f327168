/**
 * What each area of the JupyterLab extension gets to install itself (sidebar sections,
 * palette commands, main-area views): one `LabContext`, passed to every `LabArea` listed
 * in `index.ts`. Types only, so area modules never import `index.ts`.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { HttpBackend } from './backend';
import type { Session } from './session';
import type { OvermindSidebar } from './sidebar';

/** Something shown in the main area: its element and its cleanup. */
export interface MainView {
  readonly el: HTMLElement;
  dispose(): void;
}

/**
 * Opens (or re-activates) a main-area tab `id` titled `label`; `make` builds the view
 * only when no tab with that id is open.
 */
export type MainOpener = (id: string, label: string, make: () => MainView) => void;

/** The user's settings (schema: `labextension/schema/sidebar.json`). */
export interface Settings {
  showEnded: boolean;
  logLines: number;
  /** The prompt box's "hold for review" at first. */
  holdForReview: boolean;
  /** The prompt box's agent at first ('': the server's default). */
  defaultAgent: string;
}

export interface LabContext {
  app: JupyterFrontEnd;
  palette: ICommandPalette | null;
  backend: HttpBackend;
  /** The sidebar's live state; add parts with `session.addPart` before it starts. */
  session: Session;
  sidebar: OvermindSidebar;
  open: MainOpener;
  settings: Settings;
}

/** Installs one area of the UI (called once at activation, before the session starts). */
export type LabArea = (ctx: LabContext) => void;

/** Registers a command and lists it in the palette under "Overmind". */
export function addCommand(ctx: LabContext, id: string,
  options: { label: string; caption: string; execute: () => unknown }): void {
  ctx.app.commands.addCommand(id, options);
  ctx.palette?.addItem({ command: id, category: 'Overmind' });
}
