/**
 * What one anywidget view gets (`widget.ts` builds it): the widget model, the backend,
 * its element and a session. Types only, so view modules never import `widget.ts`.
 */
import type { Backend } from './backend';
import type { Session } from './session';

/** The part of anywidget's model the views use. */
export interface Model {
  get(name: string): any;
  send(content: unknown): void;
  on(event: string, cb: (msg: any) => void): void;
  off(event: string, cb: (msg: any) => void): void;
}

/** A built view: its top-level nodes and its cleanup. */
export interface View {
  nodes: HTMLElement[];
  dispose(): void;
}

export interface ViewContext {
  model: Model;
  backend: Backend;
  el: HTMLElement;
  /**
   * The view's live state (created on first call, started once the factory returns, so
   * parts added with `addPart` inside the factory load with the snapshot).
   */
  session(): Session;
}

/** Builds the view of one `view` trait value. */
export type ViewFactory = (ctx: ViewContext) => View;
