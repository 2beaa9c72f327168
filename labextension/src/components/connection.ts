/**
 * The connection pill every view shows: `live`, `connecting…` or `disconnected`
 * (with the reason as tooltip). `data-state` carries the state for styles and tests.
 */
import type { ConnectionState } from '../backend';
import { h, setText } from '../dom';

const LABEL: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  live: 'live',
  disconnected: 'disconnected — reconnecting'
};

/** Create the pill element. */
export function connectionPill(): HTMLElement {
  return h('span', { class: 'om-pill', 'data-state': 'connecting', role: 'status' }, LABEL.connecting);
}

/** Show `state` (and `detail` as the tooltip) on a pill made by `connectionPill`. */
export function showConnection(pill: HTMLElement, state: ConnectionState, detail = ''): void {
  pill.dataset.state = state;
  pill.title = detail;
  setText(pill, LABEL[state]);
}
