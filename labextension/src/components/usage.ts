/**
 * Tokens and cost as every view shows them: `1,234 tok · $0.0123`, or `cost unknown`
 * when the model has no price (the engine never invents dollars: `llm/pricing.py`), or
 * `$0.0123 + unpriced` when only part of it is priced. Exact token counts with
 * separators, so an objective's parts visibly add up to its total.
 */
import { type Amount, amountOf, type Usage } from '../agentsteps';
import type { Spending } from '../spending';

/** `1234` → `1,234 tok`. */
export function tokens(n: number): string {
  return `${n.toLocaleString('en-US')} tok`;
}

/** USD: `$0.0123` below a dollar, `$12.35` above. */
export function dollars(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** The cost part: `$0.0123`, `cost unknown` (nothing priced) or `$0.0123 + unpriced`. */
export function costText(a: Amount): string {
  if (a.cost === 0 && a.unpriced > 0) {
    return 'cost unknown';
  }
  if (!a.tokens && !a.cost) {
    return '';
  }
  return a.unpriced > 0 ? `${dollars(a.cost)} + unpriced` : dollars(a.cost);
}

/** `1,234 tok · $0.0123` ('' when nothing was spent). */
export function amountText(a: Amount): string {
  return [a.tokens ? tokens(a.tokens) : '', costText(a)].filter(Boolean).join(' · ');
}

/** `amountText` of a node's usage. */
export function usageText(u: Usage): string {
  return amountText(amountOf(u));
}

/** How an objective's total splits: `planning 960 tok + agents 480 tok` (USD too when
 * priced), '' when there is only one part. */
export function partsText(s: Spending): string {
  if (!s.planning.tokens || !s.agents.tokens) {
    return '';
  }
  const part = (label: string, a: Amount) => `${label} ${tokens(a.tokens)}${a.cost ? ` ${dollars(a.cost)}` : ''}`;
  return `${part('planning', s.planning)} + ${part('agents', s.agents)}`;
}

/** Put an amount's figures on `el` (`data-tokens`, `data-cost-usd`: tests and styles). */
export function markAmount(el: HTMLElement, a: Amount): void {
  el.dataset.tokens = String(a.tokens);
  el.dataset.costUsd = a.unpriced && !a.cost ? '' : String(a.cost);
}
